// callrec serve driven as a bot drives the calling platform: through the official Graph
// TypeScript SDKs (v1.0 and beta), their models, serializers and parsers, with only the base
// URL changed. The calls request builders are not published on npm, so the routes are
// registered with the SDKs' own extend...ServiceClient and models. Notifications arrive on a
// Node HTTP server at callbackUri; recordings are downloaded with Node's fetch and the Bearer
// token, and compared byte for byte with the file on disk.
//
// usage: node sdk.test.mjs CALLREC_BIN DEMO_DIR
import { spawn, execFileSync } from "node:child_process";
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";

import { AllowedHostsValidator, BaseBearerTokenAuthenticationProvider } from "@microsoft/kiota-abstractions";
import { JsonParseNodeFactory } from "@microsoft/kiota-serialization-json";
import { GraphRequestAdapter, createGraphServiceClient, extendGraphServiceClient } from "@microsoft/msgraph-sdk";
import * as v1 from "@microsoft/msgraph-sdk/models/index.js";
import { createODataErrorFromDiscriminatorValue } from "@microsoft/msgraph-sdk/models/oDataErrors/index.js";
import { GraphBetaRequestAdapter, createGraphBetaServiceClient, extendGraphBetaServiceClient } from "@microsoft/msgraph-beta-sdk";
import * as beta from "@microsoft/msgraph-beta-sdk/models/index.js";

const [bin, demo] = process.argv.slice(2);
if (!bin || !demo) {
  console.error("usage: node sdk.test.mjs CALLREC_BIN DEMO_DIR");
  process.exit(2);
}
let checks = 0;
const check = (cond, what) => {
  checks++;
  assert.ok(cond, what);
};

// ---- a scratch world: media, recordings, the API token -------------------------------------
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "callrec-sdk-"));
const media = path.join(dir, "media"), recordings = path.join(dir, "recordings");
fs.mkdirSync(media);
fs.mkdirSync(recordings);
const apiToken = "sdk-test-" + Math.random().toString(36).slice(2);
fs.writeFileSync(path.join(dir, "api-tokens"), apiToken + "\n");
fs.copyFileSync(path.join(demo, "caller.wav"), path.join(media, "caller.wav")); // speech, then '#'
fs.copyFileSync(path.join(demo, "prompt.wav"), path.join(media, "prompt.wav"));
const sox = (...args) => execFileSync("sox", args, { cwd: media });
sox("-n", "-r", "8000", "-c", "1", "-b", "16", "silence.wav", "trim", "0", "4"); // the demo's rate
sox("prompt.wav", "silence.wav", "then-silence.wav"); // speech, then 4 s of silence

// ---- the bot's callback endpoint -----------------------------------------------------------
const notes = [];
let waiters = [];
const callback = http.createServer((req, res) => {
  let body = "";
  req.on("data", (d) => (body += d));
  req.on("end", () => {
    notes.push(JSON.parse(body));
    res.writeHead(202).end();
    waiters = waiters.filter((w) => !w());
  });
});
await new Promise((ok) => callback.listen(0, "127.0.0.1", ok));
const callbackUri = `http://127.0.0.1:${callback.address().port}/callback`;

/* The notification for an operation id (or a call's state change), when it comes. */
function notification(match, seconds = 20) {
  return new Promise((ok, fail) => {
    const look = () => {
      const n = notes.find(match);
      if (n) ok(n);
      return !!n;
    };
    if (look()) return;
    waiters.push(look);
    setTimeout(() => fail(new Error("no notification in time")), seconds * 1000);
  });
}
const forOperation = (id) => (n) => n.value?.[0]?.resourceData?.id === id;

// ---- callrec serve -------------------------------------------------------------------------
const server = spawn(bin, ["serve", "--listen", "127.0.0.1:0", "--api-token-file",
  path.join(dir, "api-tokens"), "--recording-dir", recordings, "--media-dir", media], {
  stdio: ["ignore", "pipe", "inherit"],
});
const first = await new Promise((ok) => readline.createInterface({ input: server.stdout }).once("line", ok));
const base = JSON.parse(first).listening;

// ---- the SDKs, pointed at it ---------------------------------------------------------------
const auth = new BaseBearerTokenAuthenticationProvider({
  getAuthorizationToken: async () => apiToken,
  getAllowedHostsValidator: () => new AllowedHostsValidator(new Set(["127.0.0.1"])),
});
const errors = { XXX: createODataErrorFromDiscriminatorValue };

/* The request body of record / recordResponse, written field by field with the SDK's writer;
   its prompts through the SDK's own serializeMediaPrompt. */
const recordBody = (models) => (writer, b = {}) => {
  writer.writeCollectionOfObjectValues("prompts", b.prompts, models.serializeMediaPrompt);
  writer.writeBooleanValue("bargeInAllowed", b.bargeInAllowed);
  writer.writeNumberValue("initialSilenceTimeoutInSeconds", b.initialSilenceTimeoutInSeconds);
  writer.writeNumberValue("maxSilenceTimeoutInSeconds", b.maxSilenceTimeoutInSeconds);
  writer.writeNumberValue("maxRecordDurationInSeconds", b.maxRecordDurationInSeconds);
  writer.writeBooleanValue("playBeep", b.playBeep);
  writer.writeCollectionOfPrimitiveValues("stopTones", b.stopTones);
  writer.writeStringValue("clientContext", b.clientContext);
  writer.writeAdditionalData(b.additionalData);
};
const playBody = (models) => (writer, b = {}) => {
  writer.writeCollectionOfObjectValues("prompts", b.prompts, models.serializeMediaPrompt);
  writer.writeStringValue("clientContext", b.clientContext);
};
const cancelBody = (writer, b = {}) => writer.writeStringValue("clientContext", b.clientContext);

function routes(models, recordName) {
  const post = (serializer, factory) => ({
    requestsMetadata: {
      post: {
        uriTemplate: "", // set below
        adapterMethodName: "send",
        responseBodyContentType: "application/json",
        requestBodyContentType: "application/json",
        requestBodySerializer: serializer,
        responseBodyFactory: factory,
        errorMappings: errors,
      },
    },
  });
  const item = {
    pathParametersMappings: ["call%2Did"],
    requestsMetadata: {
      get: { uriTemplate: "{+baseurl}/communications/calls/{call%2Did}", adapterMethodName: "send",
        responseBodyFactory: models.createCallFromDiscriminatorValue, errorMappings: errors },
      delete: { uriTemplate: "{+baseurl}/communications/calls/{call%2Did}",
        adapterMethodName: "sendNoResponseContent", errorMappings: errors },
    },
    navigationMetadata: {
      [recordName]: post(recordBody(models), models.createRecordOperationFromDiscriminatorValue),
      playPrompt: post(playBody(models), models.createPlayPromptOperationFromDiscriminatorValue),
      cancelMediaProcessing: post(cancelBody, models.createCommsOperationFromDiscriminatorValue),
      operations: {
        navigationMetadata: {
          byCommsOperationId: {
            pathParametersMappings: ["commsOperation%2Did"],
            requestsMetadata: { get: { uriTemplate:
              "{+baseurl}/communications/calls/{call%2Did}/operations/{commsOperation%2Did}",
              adapterMethodName: "send", errorMappings: errors,
              responseBodyFactory: models.createCommsOperationFromDiscriminatorValue } },
          },
        },
      },
    },
  };
  for (const [name, nav] of Object.entries(item.navigationMetadata))
    if (nav.requestsMetadata)
      nav.requestsMetadata.post.uriTemplate = `{+baseurl}/communications/calls/{call%2Did}/${name}`;
  return {
    communications: {
      navigationMetadata: {
        calls: {
          requestsMetadata: {
            post: { uriTemplate: "{+baseurl}/communications/calls", adapterMethodName: "send",
              responseBodyContentType: "application/json", requestBodyContentType: "application/json",
              requestBodySerializer: models.serializeCall,
              responseBodyFactory: models.createCallFromDiscriminatorValue, errorMappings: errors },
          },
          navigationMetadata: { byCallId: item },
        },
      },
    },
  };
}
extendGraphServiceClient(routes(v1, "recordResponse"));
extendGraphBetaServiceClient(routes(beta, "record"));
const v1Adapter = new GraphRequestAdapter(auth);
v1Adapter.baseUrl = base + "/v1.0";
const betaAdapter = new GraphBetaRequestAdapter(auth);
betaAdapter.baseUrl = base + "/beta";
const graph = createGraphServiceClient(v1Adapter);
const graphBeta = createGraphBetaServiceClient(betaAdapter);

/* resourceData of a notification, through the SDK's parser and models. */
function parsed(models, note) {
  const bytes = new TextEncoder().encode(JSON.stringify(note.value[0].resourceData));
  return new JsonParseNodeFactory().getRootParseNode("application/json", bytes)
    .getObjectValue(models.createCommsOperationFromDiscriminatorValue);
}

const newCall = (client, file, realtime = false) => client.communications.calls.post({
  callbackUri, additionalData: { "@callrec.media": { file, realtime } },
});

const mediaPrompt = (uri) => ({ odataType: "#microsoft.graph.mediaPrompt", mediaInfo: { uri } });

/* One record operation on a new call: returns what the notification says, typed. */
async function record(client, models, recordName, file, body, { realtime = false, during } = {}) {
  const call = await newCall(client, file, realtime);
  check(/^[0-9a-f-]{36}$/.test(call.id), "the call has an id");
  const op = await client.communications.calls.byCallId(call.id)[recordName].post(body);
  check(op.id && op.clientContext === (body.clientContext ?? undefined), "the operation echoes clientContext");
  // (op.status reads undefined: the SDKs' typed status enum is PascalCase and the wire is
  // lowercase; the raw body's "running" is checked by the curl tests.)
  if (during) await during(call, op);
  const note = await notification(forOperation(op.id));
  const data = parsed(models, note);
  const raw = note.value[0].resourceData;
  check(note.value[0].changeType === "deleted", "changeType deleted");
  check(note.value[0].resourceUrl === `/communications/calls/${call.id}/operations/${op.id}`, "resourceUrl");
  check(raw.status === "completed" || raw.status === "failed", "lowercase status on the wire");
  return { call, op, data, raw };
}

/* Downloads the recording as a bot does and compares it with the file on disk. */
async function download(data, opId) {
  const location = data.recordingLocation, token = data.recordingAccessToken;
  check(location === `${base}/recordings/${opId}`, "recordingLocation is served here");
  const res = await fetch(location, { headers: { Authorization: "Bearer " + token } });
  check(res.status === 200 && res.headers.get("content-type") === "application/octet-stream", "200 octet-stream");
  const got = Buffer.from(await res.arrayBuffer());
  check(got.equals(fs.readFileSync(path.join(recordings, opId + ".wav"))), "the bytes are the file's");
  const denied = await fetch(location, { headers: { Authorization: "Bearer " + token + "x" } });
  check(denied.status === 401, "a wrong token is refused");
  return got;
}

const results = [];
try {
  // beta `record`, the operation page's example body (its https prompt replaced by a served file)
  {
    const { data, op, raw } = await record(graphBeta, beta, "record", "caller.wav", {
      bargeInAllowed: true, clientContext: "d45324c1-fcb5-430a-902c-f20af696537c",
      prompts: [mediaPrompt("prompt.wav")], maxRecordDurationInSeconds: 10,
      initialSilenceTimeoutInSeconds: 5, maxSilenceTimeoutInSeconds: 2, playBeep: true,
      stopTones: ["#", "1", "*"],
    });
    check(data.completionReason === "stopToneDetected", "beta: stopToneDetected, typed");
    check(data.resultInfo.code === 200 && data.resultInfo.subcode === 8514, "200/8514");
    check(data.clientContext === "d45324c1-fcb5-430a-902c-f20af696537c", "clientContext");
    check(raw["@callrec.stopTone"] === "#", "the key, as an annotation");
    const wav = await download(data, op.id);
    results.push(["beta record", data.completionReason, wav.length]);
  }
  // v1.0 `recordResponse`: completionReason arrives in additionalData (not in v1.0's metadata)
  {
    const { data, op } = await record(graph, v1, "recordResponse", "caller.wav", {
      maxRecordDurationInSeconds: 2, playBeep: false, clientContext: "v1",
    });
    check(data.additionalData.completionReason === "maxRecordDurationReached", "v1.0: maxRecordDurationReached");
    check(data.resultInfo.code === 200 && data.resultInfo.subcode === 8515, "200/8515");
    const wav = await download(data, op.id);
    check(wav.length === 44 + 2 * 16000 * 2, "exactly 2 s");
    results.push(["v1.0 recordResponse", data.additionalData.completionReason, wav.length]);
  }
  for (const [file, body, reason, code, subcode] of [
    ["silence.wav", { initialSilenceTimeoutInSeconds: 1, playBeep: false }, "initialSilenceTimeout", 400, 8510],
    ["then-silence.wav", { maxSilenceTimeoutInSeconds: 1, playBeep: false, maxRecordDurationInSeconds: 30 },
      "maxSilenceTimeout", 200, 8509],
    ["caller.wav", { prompts: [mediaPrompt("no-such-prompt.wav")] }, "playPromptFailed", 400, 8511],
  ]) {
    const { data, op } = await record(graphBeta, beta, "record", file, body);
    check(data.completionReason === reason, `${reason}: typed completionReason`);
    check(data.resultInfo.code === code && data.resultInfo.subcode === subcode, `${reason}: ${code}/${subcode}`);
    if (reason !== "playPromptFailed") await download(data, op.id);
    else check(data.recordingLocation == null, "no recording when the prompt fails");
    results.push(["beta record", reason]);
  }
  // cancelMediaProcessing during a real-time recording: operationCanceled, 400/8508
  {
    const { data, op } = await record(graphBeta, beta, "record", "then-silence.wav",
      { playBeep: false, maxRecordDurationInSeconds: 30, maxSilenceTimeoutInSeconds: 30 },
      { realtime: true, during: async (call) => {
        await new Promise((ok) => setTimeout(ok, 600));
        const c = await graphBeta.communications.calls.byCallId(call.id).cancelMediaProcessing.post({ clientContext: "stop" });
        check(c.clientContext === "stop", "cancelMediaProcessing echoes clientContext");
      } });
    check(data.completionReason === "operationCanceled", "operationCanceled");
    check(data.resultInfo.code === 400 && data.resultInfo.subcode === 8508, "400/8508");
    await download(data, op.id);
    results.push(["beta record", "operationCanceled"]);
  }
  // the caller hangs up (DELETE the call) mid-recording: none; typed SDKs leave it unset
  {
    const { data, op, raw, call } = await record(graphBeta, beta, "record", "then-silence.wav",
      { playBeep: false, maxRecordDurationInSeconds: 30, maxSilenceTimeoutInSeconds: 30 },
      { realtime: true, during: async (call) => {
        await new Promise((ok) => setTimeout(ok, 500));
        await graphBeta.communications.calls.byCallId(call.id).delete();
      } });
    check(raw.completionReason === "none" && data.completionReason === undefined, "none: unset when typed");
    check(data.resultInfo.subcode === 9902, "none: 9902");
    await download(data, op.id);
    const ended = await notification((n) => n.value[0].resourceData.id === call.id &&
      n.value[0].resourceData.state === "terminated");
    check(ended.value[0].resourceUrl === `/communications/calls/${call.id}`, "the call's end is notified");
    results.push(["beta record", "none (hang-up)"]);
  }
  // playPrompt: completedSuccessfully, 200/0; GET .../operations/{id} as it stands
  {
    const call = await newCall(graphBeta, "then-silence.wav"); // longer than the prompt
    const op = await graphBeta.communications.calls.byCallId(call.id).playPrompt.post({
      prompts: [mediaPrompt("prompt.wav")], clientContext: "hello" });
    const note = await notification(forOperation(op.id));
    const data = parsed(beta, note);
    check(data.completionReason === "completedSuccessfully", "playPrompt: completedSuccessfully");
    check(data.resultInfo.code === 200 && data.resultInfo.subcode === 0, "200/0");
    const got = await graphBeta.communications.calls.byCallId(call.id).operations.byCommsOperationId(op.id).get();
    check(got.id === op.id && got.resultInfo.subcode === 0, "GET operation as it stands");
    results.push(["beta playPrompt", data.completionReason]);
  }
  // a refused body: 400 with a Graph error the SDK raises as ODataError naming the field
  {
    const call = await newCall(graphBeta, "silence.wav");
    let error;
    try {
      await graphBeta.communications.calls.byCallId(call.id).record.post({ maxRecordDurationInSeconds: 0 });
    } catch (e) {
      error = e;
    }
    check(error && error.responseStatusCode === 400, "400 for a refused body");
    // ODataError keeps the body's error in errorEscaped (a MainError model)
    const message = error.errorEscaped?.message ?? error.error?.message;
    check(/maxRecordDurationInSeconds: must be an integer from 1 to 300, got 0/.test(message ?? error.message),
      "the error names the field: " + (message ?? error.message));
    results.push(["beta record", "400 " + (message ?? error.message)]);
  }
  for (const r of results) console.log(r.join(": "));
  console.log(`sdk.test: ${checks} checks, 0 failed`);
} finally {
  server.kill("SIGTERM");
  const code = await new Promise((ok) => server.once("exit", (c, sig) => ok(c ?? sig)));
  if (code !== 0) {
    console.error(`sdk.test: callrec serve stopped with ${code} (a sanitizer report?)`);
    process.exitCode = 1;
  }
  callback.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
