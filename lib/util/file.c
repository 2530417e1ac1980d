/*
 * file.c - the operating-system edge: mapping files for readers, writing
 * and syncing them for writers. Every failure becomes ND_EIO with the path
 * and errno text in the handle's message.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <libdeflate.h>
#include <unistd.h>

#include "util/util.h"

uint32_t crc32_update(uint32_t crc, const void *p, size_t n)
{
    /* libdeflate's CRC-32 is zlib's (the same polynomial, start and final
     * inversion), computed with carry-less multiplication where the CPU has
     * it: several times faster, which matters because every reader checks
     * whole files when it opens them */
    return libdeflate_crc32(crc, p, n);
}

int map_open(nd_map *m, const char *path, nd_err *e)
{
    m->data = NULL;
    m->len = 0;
    m->fd = -1;
    m->has_fd = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        /* a path through a regular file ("DIR" is a file) holds no index either */
        int code = errno == ENOENT || errno == ENOTDIR ? ND_ENOTFOUND : ND_EIO;
        return err_set(e, code, "%s: %s", path, strerror(errno));
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int rc = err_set(e, ND_EIO, "%s: %s", path, strerror(errno));
        close(fd);
        return rc;
    }
    if (st.st_size > 0) {
        if ((unsigned long long)st.st_size > SIZE_MAX) {
            close(fd);
            return err_set(e, ND_EIO, "%s: file too large to map", path);
        }
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED) {
            int rc = err_set(e, ND_EIO, "%s: mmap: %s", path, strerror(errno));
            close(fd);
            return rc;
        }
        m->data = p;
        m->len = (size_t)st.st_size;
    }
    m->fd = fd;
    m->has_fd = 1;
    return ND_OK;
}

void map_drop_fd(nd_map *m)
{
    if (m->has_fd)
        close(m->fd);
    m->fd = -1;
    m->has_fd = 0;
}

void map_unload(const nd_map *m, size_t off, size_t len)
{
    if (m->data && off < m->len)
        (void)madvise((void *)(m->data + off), ND_MIN(len, m->len - off), MADV_DONTNEED);
}

/* CRC-32 of the first len bytes read with pread; 0 with *ok = 0 if a read
 * fails or the file is shorter. */
static uint32_t pread_crc32(int fd, size_t len, int *ok)
{
    enum { CHUNK = 256 << 10 };
    uint8_t *buf = malloc(CHUNK);
    uint32_t crc = 0;
    size_t off = 0;
    *ok = buf != NULL;
    while (*ok && off < len) {
        ssize_t n = pread(fd, buf, ND_MIN((size_t)CHUNK, len - off), (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            *ok = 0;
        else {
            crc = crc32_update(crc, buf, (size_t)n);
            off += (size_t)n;
        }
    }
    free(buf);
    return crc;
}

uint32_t map_crc32(const nd_map *m, size_t len)
{
    if (m->has_fd) {
        int ok;
        uint32_t crc = pread_crc32(m->fd, len, &ok);
        if (ok)
            return crc;
    }
    const size_t piece = (size_t)8 << 20; /* a multiple of any page size */
    uint32_t crc = 0;
    for (size_t off = 0; off < len; off += piece) {
        size_t n = ND_MIN(piece, len - off);
        crc = crc32_update(crc, m->data + off, n);
        map_unload(m, off, n);
    }
    return crc;
}

void map_close(nd_map *m)
{
    map_drop_fd(m);
    if (m->data)
        munmap((void *)m->data, m->len);
    m->data = NULL;
    m->len = 0;
}

int write_all(int fd, const void *p, size_t n, nd_err *e, const char *path)
{
    const uint8_t *s = p;
    while (n > 0) {
        ssize_t w = write(fd, s, n > (1u << 30) ? (1u << 30) : n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return err_set(e, ND_EIO, "%s: write: %s", path, strerror(errno));
        }
        s += w;
        n -= (size_t)w;
    }
    return ND_OK;
}

int fsync_fd(int fd, nd_err *e, const char *path)
{
    if (fsync(fd) != 0)
        return err_set(e, ND_EIO, "%s: fsync: %s", path, strerror(errno));
    return ND_OK;
}

int fsync_dir(const char *dir, nd_err *e)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return err_set(e, ND_EIO, "%s: %s", dir, strerror(errno));
    int rc = fsync_fd(fd, e, dir);
    close(fd);
    return rc;
}

int make_dir(const char *dir, nd_err *e)
{
    if (mkdir(dir, 0777) == 0 || errno == EEXIST) {
        struct stat st;
        if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
            return ND_OK;
        return err_set(e, ND_EIO, "%s: exists and is not a directory", dir);
    }
    return err_set(e, ND_EIO, "%s: cannot create directory: %s", dir, strerror(errno));
}

int path_join(char *buf, size_t n, const char *dir, const char *name)
{
    int w = snprintf(buf, n, "%s/%s", dir, name);
    if (w < 0 || (size_t)w >= n)
        return ND_EINVAL;
    return ND_OK;
}

long long file_size(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return -1;
    return (long long)st.st_size;
}
