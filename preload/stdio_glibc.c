/*
 * stdio_glibc.c - capture every glibc stdio flush at the one place they meet.
 *
 * glibc's stdio never calls the exported write(): printf, puts, fwrite,
 * putc_unlocked (inlined into the program), the _chk forms, perror, err and
 * the flush at exit all end in the __write slot of the jump tables
 * _IO_file_jumps and _IO_wfile_jumps, which call the internal __write.
 * Interposing the functions one by one leaks; replacing that slot does not.
 * The table is private layout, so the patch is gated: a glibc 2.x from 2.17
 * on, and the slot must hold libc's own _IO_file_write (found by content if
 * it moved). Otherwise nothing is patched and only fd-level writes are seen;
 * the HELLO's capture mode tells ulogd so.
 *
 * The __close slot is replaced too: fclose() closes its fd through it,
 * out of reach of the close() hook, and fdclass must forget that number.
 */
#include <features.h> /* says which libc this is */
#ifdef __GLIBC__
#include "shim.h"

#include <dlfcn.h>
#include <gnu/libc-version.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ulog/wire.h"

/* struct _IO_jump_t: two size_t fields then 19 function pointers. */
#define JUMP_TABLE_SLOTS 21
#define WRITE_SLOT 15
#define CLOSE_SLOT 17

typedef ssize_t (*file_write_fn)(FILE *, const void *, ssize_t);
typedef int (*file_close_fn)(FILE *);

static file_write_fn real_file_write;
static file_close_fn real_file_close;

static ssize_t capturing_file_write(FILE *fp, const void *buf, ssize_t len)
{
    ssize_t done = real_file_write(fp, buf, len);
    if (done > 0)
        capture_bytes(fp->_fileno, buf, (size_t)done);
    return done;
}

static int forgetting_file_close(FILE *fp)
{
    int fd = fp->_fileno;
    int rc = real_file_close(fp);
    fdclass_forget(fd);
    return rc;
}

static int glibc_layout_known(void)
{
    const char *version = gnu_get_libc_version();
    char *end;
    long major = strtol(version, &end, 10), minor;
    if (*end != '.')
        return 0;
    minor = strtol(end + 1, NULL, 10);
    return major == 2 && minor >= 17;
}

/* The protection of the mapping holding addr, so it can be put back. */
static int page_protection(uintptr_t addr)
{
    FILE *maps = fopen("/proc/self/maps", "re");
    char line[512];
    int prot = -1;
    if (!maps)
        return -1;
    while (prot < 0 && fgets(line, sizeof line, maps)) {
        unsigned long start, end;
        char perms[5];
        if (sscanf(line, "%lx-%lx %4s", &start, &end, perms) == 3 && addr >= start &&
            addr < end)
            prot = (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) |
                   (perms[2] == 'x' ? PROT_EXEC : 0);
    }
    fclose(maps);
    return prot;
}

static int patch_slot(void **slot, void *value)
{
    uintptr_t page_size = (uintptr_t)sysconf(_SC_PAGESIZE);
    void *page = (void *)((uintptr_t)slot & ~(page_size - 1));
    int prot = page_protection((uintptr_t)slot);
    if (prot < 0 || mprotect(page, page_size, PROT_READ | PROT_WRITE) != 0)
        return 0;
    __atomic_store_n(slot, value, __ATOMIC_RELEASE);
    mprotect(page, page_size, prot);
    return 1;
}

static int find_slot(void **table, void *fn, int usual)
{
    if (table[usual] == fn)
        return usual;
    for (int i = 2; i < JUMP_TABLE_SLOTS; i++)
        if (table[i] == fn)
            return i;
    return -1;
}

/* Replace `fn` by `hook` in one jump table; 1 if done. */
static int hook_table(const char *table_name, void *fn, void *hook, int usual)
{
    void **table = dlsym(RTLD_DEFAULT, table_name);
    int slot;
    if (!table || !fn)
        return 0;
    slot = find_slot(table, fn, usual);
    return slot >= 0 && patch_slot(&table[slot], hook);
}

uint32_t stdio_hook_install(void)
{
    int hooked = 0;
    if (!glibc_layout_known())
        return 0;
    real_file_write = (file_write_fn)dlsym(RTLD_DEFAULT, "_IO_file_write");
    real_file_close = (file_close_fn)dlsym(RTLD_DEFAULT, "_IO_file_close");
    if (!real_file_write)
        return 0;
    hooked += hook_table("_IO_file_jumps", (void *)real_file_write, (void *)capturing_file_write,
                         WRITE_SLOT);
    hooked += hook_table("_IO_wfile_jumps", (void *)real_file_write,
                         (void *)capturing_file_write, WRITE_SLOT);
    if (real_file_close) {
        hook_table("_IO_file_jumps", (void *)real_file_close, (void *)forgetting_file_close,
                   CLOSE_SLOT);
        hook_table("_IO_wfile_jumps", (void *)real_file_close, (void *)forgetting_file_close,
                   CLOSE_SLOT);
    }
    return hooked ? ULOG_CAPTURE_STDIO_SLOT : 0;
}
#endif /* __GLIBC__ */
