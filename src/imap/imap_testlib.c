/* imap_testlib.c — see imap_testlib.h. */
#include "imap/imap_testlib.h"

#include "imap/imap_parser.h"
#include "lib/buf.h"
#include "lib/xmalloc.h"

struct imap_parser *
imap_testlib_parse(const char *line, size_t len,
    const struct imap_command **cmd_r)
{
	static const struct imap_parser_limits limits = {
		.max_line = 1 << 20, .max_size = 1 << 24, .max_depth = 100000,
		.max_args = 1 << 20,
	};
	struct imap_parser *p = imap_parser_new(&limits);
	size_t pos = 0, used;

	for (;;) {
		switch (imap_parser_feed(p, line + pos, len - pos, &used)) {
		case IMAP_PARSE_LITERAL:
			imap_parser_literal_accept(p);
			pos += used;
			continue;
		case IMAP_PARSE_COMMAND:
			if (pos + used != len)
				panic("imap_testlib_parse: text after the command");
			*cmd_r = imap_parser_command(p);
			return p;
		case IMAP_PARSE_MORE:
			panic("imap_testlib_parse: incomplete command");
		case IMAP_PARSE_ERROR:
			panic("imap_testlib_parse: %s", imap_parser_error(p));
		}
	}
}

void
imap_testlib_render(struct buf *out, const struct imap_arg *args, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct imap_arg *a = &args[i];

		if (i > 0)
			(void)buf_append_str(out, " ");
		switch (a->type) {
		case IMAP_ARG_ATOM:
			(void)buf_append(out, a->str, a->len);
			break;
		case IMAP_ARG_NIL:
			(void)buf_printf(out, "NIL<%s>", a->str);
			break;
		case IMAP_ARG_QUOTED:
			(void)buf_printf(out, "\"%s\"", a->str);
			break;
		case IMAP_ARG_LITERAL:
		case IMAP_ARG_LITERAL8:
			(void)buf_printf(out, "%s{%zu}",
			    a->type == IMAP_ARG_LITERAL8 ? "~" : "", a->len);
			for (size_t j = 0; j < a->len; j++) {
				if (a->str[j] == '\0')
					(void)buf_append_str(out, "\\0");
				else
					(void)buf_append(out, &a->str[j], 1);
			}
			break;
		case IMAP_ARG_LIST:
			(void)buf_append_str(out, "(");
			imap_testlib_render(out, a->list, a->n_list);
			(void)buf_append_str(out, ")");
			break;
		}
	}
}
