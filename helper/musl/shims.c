/* shims.c: linked into sprout only when it is built against musl (configure.ac).
 * The system's static jansson was compiled against glibc with _FORTIFY_SOURCE, so it
 * calls these checked variants, which musl does not have. They keep the check: a copy
 * larger than its destination aborts, as glibc's would. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int __snprintf_chk (char *s, size_t n, int flag, size_t slen, const char *fmt, ...);
int __vsnprintf_chk (char *s, size_t n, int flag, size_t slen, const char *fmt, va_list ap);
char *__strncpy_chk (char *d, const char *s, size_t n, size_t dlen);

int
__vsnprintf_chk (char *s, size_t n, int flag, size_t slen, const char *fmt, va_list ap)
{
  (void) flag;
  if (n > slen)
    abort ();
  return vsnprintf (s, n, fmt, ap);
}

int
__snprintf_chk (char *s, size_t n, int flag, size_t slen, const char *fmt, ...)
{
  va_list ap;
  int r;

  va_start (ap, fmt);
  r = __vsnprintf_chk (s, n, flag, slen, fmt, ap);
  va_end (ap);
  return r;
}

char *
__strncpy_chk (char *d, const char *s, size_t n, size_t dlen)
{
  if (n > dlen)
    abort ();
  return strncpy (d, s, n);
}
