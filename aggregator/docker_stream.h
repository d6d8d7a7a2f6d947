/*
 * docker_stream.h - a container's log stream from the Docker Engine, into
 * timestamped pieces of lines.
 *
 * GET /containers/{id}/logs?timestamps=1 answers with the container's
 * output, each line prefixed by its RFC 3339 time and a space. Without a
 * TTY the body is multiplexed: frames of an 8-byte header (stream: 1
 * stdout, 2 stderr, 3 an error from the engine; three zero bytes; the
 * payload's length, big-endian) and a payload; with a TTY it is the raw
 * output, all of it stdout. Frames and reads cut the text anywhere: a frame
 * may hold part of a line or several lines, a line may span frames, and a
 * read may end inside a header or a timestamp.
 *
 * This is pure: bytes in, pieces out through a callback, nothing kept but
 * the header and timestamp being read (bounded), so a hostile engine costs
 * at most the bytes it sends. A piece is part of one line, with that line's
 * time; the first piece of a line says so, and the last one ends with the
 * newline. Bytes that are not UTF-8 are text like any other: the record
 * encoder shows them as \xNN, as it does for the shim's lines. Malformed input (a header with non-zero padding or an unknown
 * stream, a frame above DOCKER_STREAM_MAX_FRAME, a line that does not start
 * with a timestamp, an error frame) stops the stream: feed returns false
 * and `error` says why; nothing is emitted after that.
 */
#ifndef ULOGD_DOCKER_STREAM_H
#define ULOGD_DOCKER_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Docker writes one log message per frame; anything this large is not one. */
#define DOCKER_STREAM_MAX_FRAME (16u << 20)
/* "2026-11-21T14:22:18.214521123+01:00" and some slack. */
#define DOCKER_STREAM_MAX_STAMP 40
/* What an error frame may say, kept for the report. */
#define DOCKER_STREAM_MAX_ERROR 512

#define DOCKER_STREAM_STDOUT 1
#define DOCKER_STREAM_STDERR 2

struct docker_piece {
    uint8_t stream;             /* DOCKER_STREAM_STDOUT or _STDERR */
    uint64_t time_ns;           /* the line's time, from its prefix */
    const unsigned char *bytes; /* the prefix removed; the newline kept when `ends` */
    size_t len;
    bool starts;                /* the first piece of its line */
    bool ends;                  /* the last piece: it ends with '\n' */
};

typedef void docker_piece_fn(void *ctx, const struct docker_piece *piece);

/* Where one output stream (stdout or stderr) stands in its current line. */
struct docker_line_state {
    bool in_text;       /* the timestamp is read; text until the newline */
    bool started;       /* the line's first piece has gone out */
    char stamp[DOCKER_STREAM_MAX_STAMP];
    size_t stamp_len;
    uint64_t time_ns;
};

struct docker_stream {
    bool multiplexed;
    docker_piece_fn *emit;
    void *ctx;
    unsigned char header[8];
    size_t header_len;
    uint32_t frame_left;   /* payload bytes of the current frame still to come */
    uint8_t frame_stream;
    struct docker_line_state lines[2];
    char engine_error[DOCKER_STREAM_MAX_ERROR + 1]; /* an error frame's text */
    size_t engine_error_len;
    const char *error; /* why the stream stopped; NULL while it is well-formed */
};

void docker_stream_init(struct docker_stream *s, bool multiplexed, docker_piece_fn *emit,
                        void *ctx);

/* Take the next bytes of the body; false (and s->error) once it is malformed. */
bool docker_stream_feed(struct docker_stream *s, const unsigned char *bytes, size_t len);

/* The body ended: true when it ended between frames (a line may still be open). */
bool docker_stream_ended_cleanly(const struct docker_stream *s);

/* The time of a "2026-11-21T14:22:18.214521123Z" prefix in ns since the epoch; 0: not one. */
uint64_t docker_stream_parse_time(const char *text, size_t len);

#endif
