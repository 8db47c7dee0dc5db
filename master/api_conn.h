/* The API's connection guard (issue 9, item 4): bounds what unauthenticated or too many
 * clients can make the master hold, before libevent's evhttp reads a request body.
 *
 * libevent 2.1.12 has no per-request hook before the body (evhttp_set_newreqcb came in
 * 2.2), so the guard sits on each connection's bufferevent (evhttp_set_bevcb): a callback
 * on its input evbuffer sees the bytes as they arrive, before evhttp's read callback
 * parses them. It copies each header block aside (at most API_MAX_HEAD bytes) and, when
 * the request declares a body, judges it with api_guard_check plus the body limits:
 *   - Transfer-Encoding (a body of unknown length): 411; Content-Length over
 *     API_MAX_BODY: 413; a malformed Content-Length: 400;
 *   - the declared bodies being received on all connections would exceed
 *     API_MAX_BUFFERED: 503 (a body's share is released once its last byte arrived;
 *     evhttp then hands the request over at once);
 *   - any api_guard_check refusal (401 with WWW-Authenticate, 403, 415, 421).
 * A refused request is answered straight on the socket ("Connection: close"), its bytes
 * and everything after them are dropped as they arrive, and the socket is shut for
 * writing, so evhttp never buffers the body. Requests without a body go on to evhttp
 * and api_route, which applies the same api_guard_check.
 *
 * More than API_MAX_CONNS connections at once: the newest is answered 503 and shut at
 * once. Pipelined requests behind a refused one are dropped with it (no browser or
 * client of ours pipelines). Everything runs on the API thread (the event base's). */
#ifndef MASTER_API_CONN_H
#define MASTER_API_CONN_H
#include <stdint.h>
#include <event2/event.h>
#include <event2/http.h>
#include "master/api_req.h"

#define API_MAX_CONNS    64                 /* concurrent HTTP connections */
#define API_MAX_BUFFERED (48u << 20)        /* declared body bytes in flight, all connections */

typedef struct api_conns api_conns;
/* Installs the guard on http (its bevcb). g must outlive it. NULL on ENOMEM. */
api_conns *api_conns_new(struct event_base *base, struct evhttp *http, const api_guard_cfg *g);
/* Frees it: call after evhttp_free (which closes every connection). */
void api_conns_free(api_conns *c);
#endif
