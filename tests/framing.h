/*
 * framing.h - rebuilding the frame of a segment file image in the damage
 * tests, from FORMAT.md section 3: a file whose header has a chunk table
 * (version 2 .tdx .doc .pos .sto) gets its table recomputed, every file its
 * footer. Images built here are consistent, so that only the structure
 * checks stand between a reader and the damage inside them.
 */
#ifndef ND_TESTS_FRAMING_H
#define ND_TESTS_FRAMING_H

#include <zlib.h>

#include "index/index.h"

/* Offset of the end of the body of a framed image of n bytes (where the
 * chunk table, or the footer, starts), from its footer. */
static inline size_t tf_body_end(const uint8_t *img, size_t n)
{
    return FRAME_HEADER + (size_t)ld_u64(img + n - FRAME_FOOTER);
}

/* Bytes a frame adds after a body of body_len bytes. */
static inline size_t tf_tail(const uint8_t *img, size_t body_len)
{
    if (!frame_has_sums((const char *)img, ld_u16(img + 4)))
        return FRAME_FOOTER;
    return 4 * (((FRAME_HEADER + body_len - 1) >> SUMS_SHIFT) + 1) + 8 + FRAME_FOOTER;
}

/* Writes what follows the header and body_len bytes of body already in img:
 * the chunk table when the header's magic and version call for one, then
 * the footer (the header's magic). img must have tf_tail more bytes of room.
 * Returns the file's size. */
static inline size_t tf_frame(uint8_t *img, size_t body_len)
{
    size_t covered = FRAME_HEADER + body_len, at = covered;
    if (frame_has_sums((const char *)img, ld_u16(img + 4))) {
        for (size_t a = 0; a < covered; a += (size_t)1 << SUMS_SHIFT) {
            size_t b = ND_MIN(covered, a + ((size_t)1 << SUMS_SHIFT));
            st_u32(img + at, (uint32_t)crc32(0, img + a, (uInt)(b - a)));
            at += 4;
        }
        st_u32(img + at, SUMS_SHIFT);
        st_u32(img + at + 4, (uint32_t)crc32(0, img + covered, (uInt)(at + 4 - covered)));
        at += 8;
    }
    st_u64(img + at, body_len);
    st_u32(img + at + 8, (uint32_t)crc32(0, img, (uInt)at));
    memcpy(img + at + 12, img, 4);
    return at + FRAME_FOOTER;
}

/* Recomputes the checksums of an n-byte image changed in place: the body is
 * what the footer says for a file with a chunk table, else everything
 * between header and footer. */
static inline void tf_refooter(uint8_t *img, size_t n)
{
    size_t body = frame_has_sums((const char *)img, ld_u16(img + 4))
                      ? tf_body_end(img, n) - FRAME_HEADER
                      : n - FRAME_HEADER - FRAME_FOOTER;
    size_t got = tf_frame(img, body);
    if (got != n)
        fail_msg("reframing changed the size of an image: %zu -> %zu", n, got);
}

#endif
