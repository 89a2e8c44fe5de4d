/* conn_compress.c — COMPRESS=DEFLATE (RFC 4978) under a conn: raw
   deflate (RFC 1951, no zlib header) both ways, above TLS when both are
   on. Output is deflated as the session writes it and sync-flushed
   (Z_SYNC_FLUSH) before each flush to the socket, so every reply reaches
   the client whole; input is read raw into a small buffer and inflated
   into the conn's bounded input buffer as room allows, so in_max holds
   for the inflated octets too (a deflate bomb fills in_max and waits).
   Invariants: conn->z is NULL until conn_compress_start; once on, it
   stays on for the conn's life. */
#include "lib/conn_private.h"

#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "lib/log.h"
#include "lib/xmalloc.h"

/* Compressed octets read ahead of inflation. */
#define CONN_COMPRESS_RAW 16384
#define CONN_COMPRESS_CHUNK 16384

struct conn_compress {
	z_stream inflate, deflate;
	char *raw;
	size_t raw_start, raw_end;
	bool inflate_more;	/* inflate stopped for want of room */
	bool deflate_pending;	/* deflated since the last sync flush */
};

int
conn_compress_start(struct conn *conn)
{
	struct conn_compress *z;
	struct conn_iobuf *in = &conn->in;
	size_t buffered = conn_iobuf_len(in);

	if (conn->z != NULL || buffered > CONN_COMPRESS_RAW)
		return -1;
	z = xcalloc(1, sizeof(*z));
	/* RFC 4978 §3: raw deflate; windowBits -15 both ways. */
	if (inflateInit2(&z->inflate, -15) != Z_OK) {
		free(z);
		return -1;
	}
	if (deflateInit2(&z->deflate, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15,
	    8, Z_DEFAULT_STRATEGY) != Z_OK) {
		inflateEnd(&z->inflate);
		free(z);
		return -1;
	}
	z->raw = xmalloc(CONN_COMPRESS_RAW);
	/* What the client sent after the command is already compressed. */
	if (buffered > 0) {
		memcpy(z->raw, in->data + in->start, buffered);
		z->raw_end = buffered;
		in->start = in->end = 0;
	}
	conn->z = z;
	if (buffered > 0)
		conn_want_io(conn);
	return 0;
}

bool
conn_is_compressed(const struct conn *conn)
{
	return conn->z != NULL;
}

void
conn_compress_free(struct conn *conn)
{
	struct conn_compress *z = conn->z;

	if (z == NULL)
		return;
	inflateEnd(&z->inflate);
	deflateEnd(&z->deflate);
	free(z->raw);
	free(z);
	conn->z = NULL;
}

/* Deflates data (or, with data NULL, a sync flush) into out. */
static void
conn_compress_deflate(struct conn *conn, const void *data, size_t len,
    int flush)
{
	struct conn_compress *z = conn->z;
	struct conn_iobuf *out = &conn->out;

	z->deflate.next_in = (Bytef *)(uintptr_t)data;
	z->deflate.avail_in = (uInt)len;
	do {
		conn_iobuf_reserve(out, CONN_COMPRESS_CHUNK,
		    CONN_COMPRESS_CHUNK);
		z->deflate.next_out = (Bytef *)(out->data + out->end);
		z->deflate.avail_out = (uInt)(out->cap - out->end);
		size_t room = z->deflate.avail_out;
		int ret = deflate(&z->deflate, flush);

		if (ret != Z_OK && ret != Z_BUF_ERROR)
			panic("conn_compress_deflate: deflate %d", ret);
		out->end += room - z->deflate.avail_out;
		if (z->deflate.avail_out != 0 && z->deflate.avail_in == 0)
			break;
	} while (true);
}

void
conn_compress_write(struct conn *conn, const void *data, size_t len)
{
	/* Session writes are bounded (conn.h), so uInt holds each. */
	while (len > 0) {
		size_t n = len > (1u << 30) ? (1u << 30) : len;

		conn_compress_deflate(conn, data, n, Z_NO_FLUSH);
		data = (const char *)data + n;
		len -= n;
	}
	conn->z->deflate_pending = true;
}

void
conn_compress_flush(struct conn *conn)
{
	if (conn->z == NULL || !conn->z->deflate_pending)
		return;
	conn_compress_deflate(conn, NULL, 0, Z_SYNC_FLUSH);
	conn->z->deflate_pending = false;
}

bool
conn_compress_has_pending(const struct conn *conn)
{
	const struct conn_compress *z = conn->z;

	return z != NULL && (z->raw_end > z->raw_start || z->inflate_more);
}

/* Inflates raw octets into the input buffer. Returns the octets made,
   or -1 on a corrupt stream. */
static long
conn_compress_inflate(struct conn *conn)
{
	struct conn_compress *z = conn->z;
	struct conn_iobuf *in = &conn->in;
	size_t room = conn->limits.in_max - conn_iobuf_len(in), avail;
	int ret;

	if (room == 0)
		return 0;
	conn_iobuf_reserve(in, room < CONN_COMPRESS_CHUNK ? room :
	    CONN_COMPRESS_CHUNK, CONN_COMPRESS_CHUNK);
	avail = in->cap - in->end;
	if (avail > room)
		avail = room;
	z->inflate.next_in = (Bytef *)(z->raw + z->raw_start);
	z->inflate.avail_in = (uInt)(z->raw_end - z->raw_start);
	z->inflate.next_out = (Bytef *)(in->data + in->end);
	z->inflate.avail_out = (uInt)avail;
	ret = inflate(&z->inflate, Z_SYNC_FLUSH);
	if (ret != Z_OK && ret != Z_BUF_ERROR)
		return -1;	/* Z_STREAM_END too: RFC 4978 never ends it */
	z->raw_start = z->raw_end - z->inflate.avail_in;
	if (z->raw_start == z->raw_end)
		z->raw_start = z->raw_end = 0;
	z->inflate_more = z->inflate.avail_out == 0;
	avail -= z->inflate.avail_out;
	if (avail > 0 && memchr(in->data + in->end, '\n', avail) != NULL)
		conn->got_lf = true;
	in->end += avail;
	return (long)avail;
}

int
conn_compress_read(struct conn *conn)
{
	struct conn_compress *z = conn->z;
	size_t got = 0;
	long made;
	int r;

	if (conn_compress_has_pending(conn)) {
		made = conn_compress_inflate(conn);
		if (made > 0)
			return 1;
		if (made < 0)
			goto corrupt;
		if (conn_iobuf_len(&conn->in) >= conn->limits.in_max)
			return 0;
	}
	if (z->raw_start > 0) {
		memmove(z->raw, z->raw + z->raw_start,
		    z->raw_end - z->raw_start);
		z->raw_end -= z->raw_start;
		z->raw_start = 0;
	}
	if (z->raw_end == CONN_COMPRESS_RAW)
		return 0;
	r = conn_input_read_raw(conn, z->raw + z->raw_end,
	    CONN_COMPRESS_RAW - z->raw_end, &got);
	if (r != 1 && r != 3)
		return r;
	z->raw_end += got;
	(void)conn_progressed(conn, got);
	if (conn_compress_inflate(conn) < 0)
		goto corrupt;
	return r;
corrupt:
	log_debug("conn: conn=%s event=inflate_error", conn->id);
	conn_fail(conn, CONN_CLOSE_ERROR);
	return -1;
}
