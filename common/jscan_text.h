/* jscan_text: the text of a value found by common/jscan_doc.h (or common/jscan.h),
 * exactly what common/capture.h's jpath_text wrote for the same value of a jansson tree,
 * so the checks of worker/check.h capture and compare what they did with jansson:
 * - a string decoded and unquoted;
 * - an integer (no . e E) as jansson prints an int64: "-0" is "0";
 * - a real in the shortest of jansson's %.{1..17}g forms that reads back to the same
 *   double (19.99; 100.0 is "1e2"; 1e-7 is "1e-7");
 * - true, false, null as written;
 * - an object or an array as json_dumps(JSON_COMPACT) writes it: no whitespace, members
 *   in first-appearance order holding their last value (jansson's object set replaces in
 *   place), reals inside at %.17g (19.99 is 19.989999999999998), strings escaped as
 *   jansson escapes them (\" \\ \b \f \n \r \t, other control bytes \u00XX, the rest
 *   as is).
 * Pure over the caller's memory, never allocates, any thread. */
#ifndef COMMON_JSCAN_TEXT_H
#define COMMON_JSCAN_TEXT_H
#include <stdbool.h>
#include <stddef.h>
#include "common/jscan.h"

/* Writes v's text into buf[0..cap), as much as fits, no NUL; *len is its whole length
 * (the text fit when *len <= cap). 0, or -1 when v is not a value. */
int  jscan_text(const jscan_val *v, char *buf, size_t cap, size_t *len);
/* true when v's text (as jscan_text writes it) is s[0..slen). */
bool jscan_text_is(const jscan_val *v, const char *s, size_t slen);
#endif
