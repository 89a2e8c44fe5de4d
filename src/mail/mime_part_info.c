/* mime_part_info.c — what a server asks of one part besides its bytes:
   whether its body is transfer-encoded, and its charset. Both read the
   part's own header fields with the parser's lexer. */
#include "mail/mime.h"

#include <strings.h>

#include "lib/buf.h"
#include "mail/mime_private.h"

const char *
mime_message_data(const struct mime_message *msg)
{
	return msg->data;
}

bool
mime_part_is_encoded(const struct mime_message *msg, uint32_t index)
{
	enum mime_cte cte = mime_decode_cte(msg, index);

	return cte == MIME_CTE_BASE64 || cte == MIME_CTE_QP;
}

int
mime_part_charset(const struct mime_message *msg, uint32_t index,
    struct buf *out)
{
	struct buf value, type;
	struct mime_params ps;
	struct mime_lex lx;
	int ret = -1;

	buf_init(&value, 0);
	buf_init(&type, 0);
	mime_params_init(&ps);
	if (mime_header_get(msg, index, "Content-Type", 0, &value) == 0 &&
	    value.len > 0) {
		mime_lex_init(&lx, value.data, value.len);
		(void)mime_lex_skip_lwsp(&lx);
		if (mime_lex_content_type(&lx, &type) >= 0)
			mime_params_parse(&lx, &ps);
		for (size_t i = 0; i < ps.n; i++) {
			if (strcasecmp(mime_params_name(&ps, i), "charset") != 0)
				continue;
			(void)buf_append_str(out, mime_params_value(&ps, i));
			ret = 0;
			break;
		}
	}
	mime_params_clear(&ps);
	buf_clear(&value);
	buf_clear(&type);
	return ret;
}
