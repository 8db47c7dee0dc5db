/* nng listeners and dialers for the protocol (proto/transport.h).
 *
 * Decisions the header leaves open, written down here:
 * - TLS is chosen by the scheme: any scheme starting with "tls+" (tls+tcp://, and nng's
 *   tls+tcp4:// and tls+tcp6://). Such a URL needs all of cert_file, key_file and
 *   ca_file. Certificates given for a URL that is not TLS are an error rather than
 *   silently unused: whoever passed --tls-cert believes the link is encrypted.
 * - Both sides use NNG_TLS_AUTH_MODE_REQUIRED: the master refuses a worker without a
 *   certificate signed by its CA, and the worker refuses a master likewise.
 * - Our certificate and key are read into memory (nng_tls_config_own_cert takes PEM
 *   text; nng_tls_config_cert_key_file wants both in one file). The key's copy is
 *   wiped after use.
 * - The dialer's expected server name defaults to the URL's host without brackets.
 * - transport_is_loopback: inproc:// is loopback; ipc:// is not counted (the header
 *   names inproc:// only, and false is the cautious answer). "localhost" is taken as
 *   loopback without asking the resolver; any other name must resolve (getaddrinfo)
 *   and every address must be loopback (127.0.0.0/8, ::1, ::ffff:127.0.0.0/104).
 *   An empty host, "*" or a wildcard address (0.0.0.0, ::) is not loopback. */
#include "proto/transport.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <nng/supplemental/tls/tls.h>

#define TRANSPORT_PEM_MAX (1u << 20)    /* a PEM file larger than 1 MiB is a mistake */

/* Host part of scheme://[user@]host[:port][/...] into buf (IPv6 brackets removed).
 * false when the URL has no "://" or the host does not fit. */
static bool transport_url_host(const char *url, char *buf, size_t cap)
{
    const char *p = strstr(url, "://");
    if (p == NULL)
        return false;
    p += 3;
    size_t alen = strcspn(p, "/?#");
    const char *at = memrchr(p, '@', alen);
    if (at != NULL) {
        alen -= (size_t)(at + 1 - p);
        p = at + 1;
    }
    const char *h = p;
    size_t hlen;
    if (alen > 0 && p[0] == '[') {
        const char *close = memchr(p, ']', alen);
        if (close == NULL)
            return false;
        h = p + 1;
        hlen = (size_t)(close - h);
    } else {
        const char *colon = memrchr(p, ':', alen);
        hlen = colon ? (size_t)(colon - p) : alen;
    }
    if (hlen >= cap)
        return false;
    memcpy(buf, h, hlen);
    buf[hlen] = '\0';
    return true;
}

static bool transport_is_tls(const char *url)
{
    return strncmp(url, "tls+", 4) == 0;
}

/* Reads a whole PEM file into a NUL-terminated heap buffer. 0, or -1 with err. */
static int transport_read_pem(const char *what, const char *path, char **out,
                              char *err, size_t errcap)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, errcap, "%s %s: %s", what, path, strerror(errno));
        return -1;
    }
    char *buf = malloc(TRANSPORT_PEM_MAX + 1);
    if (buf == NULL) {
        fclose(f);
        snprintf(err, errcap, "%s %s: out of memory", what, path);
        return -1;
    }
    size_t n = fread(buf, 1, TRANSPORT_PEM_MAX + 1, f);
    int bad = ferror(f);
    fclose(f);
    if (bad || n > TRANSPORT_PEM_MAX || n == 0) {
        snprintf(err, errcap, "%s %s: %s", what, path,
                 bad ? "read error" : n == 0 ? "empty file" : "larger than 1 MiB");
        free(buf);
        return -1;
    }
    buf[n] = '\0';
    *out = buf;
    return 0;
}

static void transport_wipe_free(char *p)
{
    if (p == NULL)
        return;
    volatile char *v = p;
    while (*v)
        *v++ = 0;
    free(p);
}

/* Builds the TLS configuration for one endpoint; the caller owns *out (one reference).
 * server_name: expected peer name for a dialer, NULL for a listener. */
static int transport_tls_config(const transport_tls *tls, nng_tls_mode mode,
                                const char *server_name, nng_tls_config **out,
                                char *err, size_t errcap)
{
    if (tls == NULL || tls->cert_file == NULL || tls->key_file == NULL || tls->ca_file == NULL) {
        snprintf(err, errcap, "tls+tcp:// needs a certificate, its key and the CA "
                              "(--tls-cert, --tls-key, --tls-ca)");
        return -1;
    }
    nng_tls_config *cfg = NULL;
    char *cert = NULL, *key = NULL;
    int rv;
    if ((rv = nng_tls_config_alloc(&cfg, mode)) != 0) {
        snprintf(err, errcap, "TLS configuration: %s", nng_strerror(rv));
        return -1;
    }
    if (transport_read_pem("certificate", tls->cert_file, &cert, err, errcap) != 0 ||
        transport_read_pem("key", tls->key_file, &key, err, errcap) != 0)
        goto fail;
    if ((rv = nng_tls_config_own_cert(cfg, cert, key, NULL)) != 0) {
        snprintf(err, errcap, "certificate %s with key %s: %s", tls->cert_file,
                 tls->key_file, nng_strerror(rv));
        goto fail;
    }
    if ((rv = nng_tls_config_ca_file(cfg, tls->ca_file)) != 0) {
        snprintf(err, errcap, "CA file %s: %s", tls->ca_file, nng_strerror(rv));
        goto fail;
    }
    if ((rv = nng_tls_config_auth_mode(cfg, NNG_TLS_AUTH_MODE_REQUIRED)) != 0) {
        snprintf(err, errcap, "TLS peer verification: %s", nng_strerror(rv));
        goto fail;
    }
    if (server_name != NULL && (rv = nng_tls_config_server_name(cfg, server_name)) != 0) {
        snprintf(err, errcap, "TLS server name %s: %s", server_name, nng_strerror(rv));
        goto fail;
    }
    free(cert);
    transport_wipe_free(key);
    *out = cfg;
    return 0;
fail:
    free(cert);
    transport_wipe_free(key);
    nng_tls_config_free(cfg);
    return -1;
}

/* Certificates given for a plain URL: refuse (see the note at the top). */
static int transport_check_plain(const char *url, const transport_tls *tls,
                                 char *err, size_t errcap)
{
    if (tls != NULL && (tls->cert_file || tls->key_file || tls->ca_file)) {
        snprintf(err, errcap, "TLS certificates were given but %s is not a tls+tcp:// URL",
                 url);
        return -1;
    }
    return 0;
}

int transport_listen(nng_socket s, const char *url, const transport_tls *tls,
                     char *err, size_t errcap)
{
    int rv;
    if (!transport_is_tls(url)) {
        if (transport_check_plain(url, tls, err, errcap) != 0)
            return -1;
        if ((rv = nng_listen(s, url, NULL, 0)) != 0) {
            snprintf(err, errcap, "listen on %s: %s", url, nng_strerror(rv));
            return -1;
        }
        return 0;
    }
    nng_listener l;
    if ((rv = nng_listener_create(&l, s, url)) != 0) {
        snprintf(err, errcap, "listen on %s: %s", url, nng_strerror(rv));
        return -1;
    }
    nng_tls_config *cfg;
    if (transport_tls_config(tls, NNG_TLS_MODE_SERVER, NULL, &cfg, err, errcap) != 0) {
        nng_listener_close(l);
        return -1;
    }
    rv = nng_listener_set_ptr(l, NNG_OPT_TLS_CONFIG, cfg);
    nng_tls_config_free(cfg);           /* the listener holds its own reference */
    if (rv != 0) {
        snprintf(err, errcap, "listen on %s: TLS configuration: %s", url, nng_strerror(rv));
        nng_listener_close(l);
        return -1;
    }
    if ((rv = nng_listener_start(l, 0)) != 0) {
        snprintf(err, errcap, "listen on %s: %s", url, nng_strerror(rv));
        nng_listener_close(l);
        return -1;
    }
    return 0;
}

int transport_dial(nng_socket s, const char *url, const transport_tls *tls,
                   char *err, size_t errcap)
{
    int rv;
    if (!transport_is_tls(url)) {
        if (transport_check_plain(url, tls, err, errcap) != 0)
            return -1;
        if ((rv = nng_dial(s, url, NULL, NNG_FLAG_NONBLOCK)) != 0) {
            snprintf(err, errcap, "dial %s: %s", url, nng_strerror(rv));
            return -1;
        }
        return 0;
    }
    char host[256];
    const char *name = tls ? tls->server_name : NULL;
    if (name == NULL) {
        if (!transport_url_host(url, host, sizeof host) || host[0] == '\0') {
            snprintf(err, errcap, "dial %s: no host in the URL", url);
            return -1;
        }
        name = host;
    }
    nng_dialer d;
    if ((rv = nng_dialer_create(&d, s, url)) != 0) {
        snprintf(err, errcap, "dial %s: %s", url, nng_strerror(rv));
        return -1;
    }
    nng_tls_config *cfg;
    if (transport_tls_config(tls, NNG_TLS_MODE_CLIENT, name, &cfg, err, errcap) != 0) {
        nng_dialer_close(d);
        return -1;
    }
    rv = nng_dialer_set_ptr(d, NNG_OPT_TLS_CONFIG, cfg);
    nng_tls_config_free(cfg);           /* the dialer holds its own reference */
    if (rv != 0) {
        snprintf(err, errcap, "dial %s: TLS configuration: %s", url, nng_strerror(rv));
        nng_dialer_close(d);
        return -1;
    }
    /* Non-blocking: a master not up yet is not an error; nng keeps redialing. */
    if ((rv = nng_dialer_start(d, NNG_FLAG_NONBLOCK)) != 0) {
        snprintf(err, errcap, "dial %s: %s", url, nng_strerror(rv));
        nng_dialer_close(d);
        return -1;
    }
    return 0;
}

static bool transport_addr_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_LOOPBACK(a))
            return true;
        return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
    }
    return false;
}

bool transport_is_loopback(const char *url)
{
    if (url == NULL)
        return false;
    if (strncmp(url, "inproc://", 9) == 0)
        return true;
    char host[256];
    if (!transport_url_host(url, host, sizeof host))
        return false;
    size_t n = strlen(host);
    if (n > 0 && host[n - 1] == '.')       /* "localhost." is the same name */
        host[--n] = '\0';
    if (n == 0 || strcmp(host, "*") == 0)
        return false;
    if (strcasecmp(host, "localhost") == 0)
        return true;
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
    struct addrinfo *res = NULL;
    if (getaddrinfo(host, NULL, &hints, &res) != 0 || res == NULL)
        return false;
    bool all = true;
    for (const struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next)
        if (!transport_addr_loopback(ai->ai_addr))
            all = false;
    freeaddrinfo(res);
    return all;
}
