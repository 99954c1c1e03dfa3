#include "modules.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifndef CALLREC_MODULE_DIR
#define CALLREC_MODULE_DIR "../lib/callrec" /* relative to the program's folder */
#endif

/* The program's own folder (from /proc/self/exe), with a trailing '/'; "" if unknown. */
static void program_dir(char *dir, size_t cap)
{
    ssize_t n = readlink("/proc/self/exe", dir, cap - 1);
    dir[n > 0 ? n : 0] = '\0';
    char *slash = strrchr(dir, '/');
    if (slash)
        slash[1] = '\0';
    else
        dir[0] = '\0';
}

void *cr_module_symbol(const char *name, const char *symbol, char *err, size_t err_len)
{
    char dir[PATH_MAX], path[PATH_MAX + 256];
    program_dir(dir, sizeof dir);
    const char *places[] = {"", CALLREC_MODULE_DIR "/"};
    for (size_t i = 0; i < sizeof places / sizeof places[0]; i++) {
        snprintf(path, sizeof path, "%s%s%s.so", dir, places[i], name);
        if (access(path, F_OK) != 0)
            continue;
        /* RTLD_NODELETE: the module's threads and atexit work may outlive a dlclose. */
        void *module = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
        const char *why = module ? NULL : dlerror();
        void *fn = module ? dlsym(module, symbol) : NULL;
        if (fn)
            return fn;
        snprintf(err, err_len, "%s: %s", path, why ? why : "it lacks the function");
        return NULL;
    }
    snprintf(err, err_len, "%s.so, found neither in %s nor in %s%s", name, dir, dir,
             CALLREC_MODULE_DIR);
    return NULL;
}
