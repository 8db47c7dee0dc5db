/* The worker's allowlist of target networks (--allow CIDR,...; default loopback only:
 * 127.0.0.0/8 and ::1). A plan whose targets fall outside it is refused with the reason,
 * which the master passes on to the CLI. Checked once per plan, before any load:
 * the scenario's target and every absolute URL whose host is written literally; a URL
 * whose host is a template cannot be checked ahead and is refused unless the allowlist
 * contains 0.0.0.0/0 (and ::/0 for IPv6). Names are resolved (getaddrinfo) and every
 * address they resolve to must be allowed. Agent thread; no shared state.
 *
 * Rules in detail (worker/allow.c says why):
 * - --allow replaces the default: the list is exactly what it says (add 127.0.0.0/8
 *   to keep loopback). Host bits below a prefix are cleared; a bare address is /32 or
 *   /128; names are not accepted in the list.
 * - The host of a URL is what libcurl would reach: the authority ends at '/', '?' or
 *   '#', the host follows its last '@'. A "{{" anywhere in the authority (host, port
 *   or user part) makes the host a template; templates pass only when the list holds
 *   both 0.0.0.0/0 and ::/0. An IPv4-mapped IPv6 address is matched as its IPv4.
 * - An http step's URL template is probed, since the engine sends a rendered URL
 *   starting with http:// or https:// as is and joins anything else to the target
 *   (common/url.h: one rule for the engine, the WebSocket flow and this check):
 *   captures and data cells stand in as markers, built-ins render as they would.
 *   A URL that starts with a capture or data value may render absolute, so its host
 *   is a template; a URL starting with a literal path or a built-in value goes to
 *   the target (checked); an absolute URL's literal host is checked, and a hole in
 *   its authority makes the host a template.
 * - A ws connect step's URL written without holes is checked as the flow joins it
 *   (common/url.h); a templated one is checked at every connect, on the address. */
#ifndef WORKER_ALLOW_H
#define WORKER_ALLOW_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include "common/scenario.h"

#define ALLOW_MAX 64

typedef struct allow_net {
    int     family;             /* AF_INET or AF_INET6 */
    uint8_t addr[16];
    int     prefix;
} allow_net;

typedef struct allow_list {
    allow_net nets[ALLOW_MAX];
    int       n;
} allow_list;

void allow_default(allow_list *a);                  /* loopback only */
/* "10.0.0.0/8,192.168.1.7,::1/128" (a bare address is /32 or /128). 0, or -1 with err. */
int  allow_parse(allow_list *a, const char *spec, char *err, size_t errcap);
bool allow_addr(const allow_list *a, const struct sockaddr *sa);
/* 0 when the URL's host is allowed; -1 with why ("target 10.1.2.3 is outside --allow
 * 127.0.0.0/8,::1/128"). */
int  allow_check_url(const allow_list *a, const char *url, char *why, size_t cap);
int  allow_check_scenario(const allow_list *a, const scenario *sc, char *why, size_t cap);
/* "127.0.0.0/8,::1/128" */
void allow_format(const allow_list *a, char *buf, size_t cap);
#endif
