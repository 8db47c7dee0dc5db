/* Opening nng listeners and dialers for the protocol, over inproc://, tcp:// or
 * tls+tcp:// (nng with mbedTLS). With TLS both sides present certificates and verify
 * the peer's against the CA (mutual authentication: NNG_TLS_AUTH_MODE_REQUIRED).
 * Any thread; the socket stays the caller's. */
#ifndef PROTO_TRANSPORT_H
#define PROTO_TRANSPORT_H
#include <stdbool.h>
#include <stddef.h>
#include <nng/nng.h>

typedef struct transport_tls {
    const char *cert_file;      /* PEM: own certificate (chain) */
    const char *key_file;       /* PEM: own private key */
    const char *ca_file;        /* PEM: CA that signed the peers' certificates */
    const char *server_name;    /* dialer: name expected in the master's certificate; NULL: host of the URL */
} transport_tls;

/* Listens on url (tls may be NULL unless the URL is tls+tcp://). 0, or -1 with err. */
int transport_listen(nng_socket s, const char *url, const transport_tls *tls, char *err, size_t errcap);
/* Dials url in the background (nng redials with backoff). 0, or -1 with err. */
int transport_dial(nng_socket s, const char *url, const transport_tls *tls, char *err, size_t errcap);
/* true when url's host is a loopback address (127.0.0.0/8, ::1, localhost) or inproc://. */
bool transport_is_loopback(const char *url);
#endif
