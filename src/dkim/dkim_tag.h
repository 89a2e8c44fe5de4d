/* dkim_tag.h — the DKIM tag=value list (RFC 6376 §3.2) of DKIM-Signature
   fields and key records. Pure; pointers point into the parsed text. */
#ifndef PETREL_DKIM_TAG_H
#define PETREL_DKIM_TAG_H

#include <stddef.h>

struct buf;

/* Tags in one list: a signature has about 12, a key record 3-5. */
#define DKIM_TAG_MAX 32

struct dkim_tag {
	const char *name, *value;	/* into the parsed text */
	size_t name_len, value_len;	/* value: FWS at both ends trimmed,
					   FWS inside kept (b=, h=) */
};

/* Parses s[0..len) (a field value or a TXT record, FWS allowed, a final
   ";" optional) into tags[0..max). Returns the number of tags (>= 0;
   an empty or all-blank list has none), or -1 on bad syntax: a tag name
   not ALPHA *(ALPHA / DIGIT / "_"), no "=", a byte outside VALCHAR and
   WSP in a value, a duplicate name (§3.2: the list is then invalid), or
   more than max tags. */
int dkim_tag_parse(const char *s, size_t len, struct dkim_tag *tags,
    size_t max);

/* The tag called name (case-sensitive, §3.2), or NULL. */
const struct dkim_tag *dkim_tag_find(const struct dkim_tag *tags, size_t n,
    const char *name);

/* Appends tag's value without any white space (base64 values such as b=,
   bh=, p=, which may be folded anywhere). Returns 0, or -1 when out is
   full. */
int dkim_tag_value_compact(const struct dkim_tag *tag, struct buf *out);
#endif
