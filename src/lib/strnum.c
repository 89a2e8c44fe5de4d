/* strnum.c — see strnum.h. */
#include "strnum.h"

#include <string.h>

int
str_to_u64_n(const char *s, size_t len, uint64_t *num_r)
{
	uint64_t n = 0;

	if (len == 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		unsigned d = (unsigned)(s[i] - '0');
		if (n > (UINT64_MAX - d) / 10)
			return -1;
		n = n * 10 + d;
	}
	*num_r = n;
	return 0;
}

int
str_to_u32_n(const char *s, size_t len, uint32_t *num_r)
{
	uint64_t n;

	if (str_to_u64_n(s, len, &n) == -1 || n > UINT32_MAX)
		return -1;
	*num_r = (uint32_t)n;
	return 0;
}

int
str_to_u64(const char *s, uint64_t *num_r)
{
	return str_to_u64_n(s, strlen(s), num_r);
}

int
str_to_u32(const char *s, uint32_t *num_r)
{
	return str_to_u32_n(s, strlen(s), num_r);
}

int
str_to_size(const char *s, uint64_t *num_r)
{
	size_t len = strlen(s);
	uint64_t mult = 1, n;

	if (len > 0) {
		switch (s[len - 1]) {
		case 'k': case 'K': mult = 1024; break;
		case 'm': case 'M': mult = 1024 * 1024; break;
		case 'g': case 'G': mult = 1024ULL * 1024 * 1024; break;
		default: break;
		}
		if (mult != 1)
			len--;
	}
	if (str_to_u64_n(s, len, &n) == -1 || __builtin_mul_overflow(n, mult, &n))
		return -1;
	*num_r = n;
	return 0;
}
