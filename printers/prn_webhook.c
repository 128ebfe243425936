// SPDX-License-Identifier: Apache-2.0
/*
 * prn_webhook.c - the webhook transport: each batch is one HTTPS POST of a
 * JSON array of alerts (libcurl, one reused handle on the sender thread, so
 * the connection stays open between batches). A 2xx answer is delivery;
 * 408, 429, 5xx, and 401/403/404 (an endpoint or a token being fixed) are
 * retried; any other status rejects the batch for good (logged line by
 * line by prn_net.c). TLS verification is on unless tls_verify is false; no
 * redirect is followed; plain http:// is accepted only to a loopback host.
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/log.h"
#include "core/util.h"
#include "printers/printer.h"
#include "printers/prn_net.h"

#define TOKEN_MAX 4096

struct webhook {
    CURL *curl;
    struct curl_slist *headers;
    char *url;
    char *ca_file;
    bool verify;
    char errbuf[CURL_ERROR_SIZE];
};

/* The answer's body is not needed; read and drop it (bounded by curl's
 * timeout). */
static size_t discard(char *ptr, size_t size, size_t nmemb, void *ud)
{
    (void)ptr;
    (void)ud;
    return size * nmemb;
}

static int webhook_send(void *ctx, const struct prn_rec *recs, size_t n, uint64_t timeout_ms,
                        char *err, size_t errlen)
{
    struct webhook *w = ctx;
    struct mz_buf body;
    long status = 0;
    CURLcode rc;
    int r = 0;

    mz_buf_init(&body, SIZE_MAX / 2);
    if (mz_buf_append(&body, "[", 1))
        abort();
    for (size_t i = 0; i < n; i++)
        if ((i && mz_buf_append(&body, ",", 1)) || mz_buf_append(&body, recs[i].data, recs[i].len))
            abort();
    if (mz_buf_append(&body, "]", 1))
        abort();

    curl_easy_setopt(w->curl, CURLOPT_POSTFIELDS, body.data);
    curl_easy_setopt(w->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body.len);
    curl_easy_setopt(w->curl, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(w->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
    w->errbuf[0] = '\0';
    rc = curl_easy_perform(w->curl);
    if (rc != CURLE_OK) {
        snprintf(err, errlen, "%s", w->errbuf[0] ? w->errbuf : curl_easy_strerror(rc));
        r = PRN_SEND_RETRY;
    } else {
        curl_easy_getinfo(w->curl, CURLINFO_RESPONSE_CODE, &status);
        if (status >= 200 && status < 300) {
            r = 0;
        } else {
            snprintf(err, errlen, "HTTP %ld", status);
            bool transient = status == 408 || status == 429 || status >= 500 || status == 401 ||
                             status == 403 || status == 404 || status < 200;
            r = transient ? PRN_SEND_RETRY : PRN_SEND_REJECT;
        }
    }
    /* the body is gone after this call */
    curl_easy_setopt(w->curl, CURLOPT_POSTFIELDS, NULL);
    mz_buf_free(&body);
    return r;
}

static void webhook_free(void *ctx)
{
    struct webhook *w = ctx;
    if (!w)
        return;
    if (w->curl)
        curl_easy_cleanup(w->curl);
    curl_slist_free_all(w->headers);
    free(w->url);
    free(w->ca_file);
    free(w);
}

/* The bearer token: the first line of token_file, else the value of the
 * environment variable token_env, else none. Never logged. 0 or -errno. */
static int load_token(const struct mz_config *cfg, char **out)
{
    const typeof(cfg->outputs.webhook) *wc = &cfg->outputs.webhook;
    *out = NULL;
    if (wc->token_file) {
        char *data = NULL;
        size_t len = 0;
        int r = mz_read_file(wc->token_file, TOKEN_MAX, &data, &len);
        if (r) {
            log_error("outputs.webhook.token_file %s: %s", wc->token_file,
                      r == -E2BIG ? "longer than 4096 bytes" : strerror(-r));
            return r;
        }
        data[strcspn(data, "\r\n")] = '\0';
        *out = data;
        struct stat st;
        if (stat(wc->token_file, &st) == 0 && (st.st_mode & 077))
            log_warn("outputs.webhook.token_file %s can be read by other users (mode %o)",
                     wc->token_file, (unsigned)(st.st_mode & 0777));
    } else if (wc->token_env && getenv(wc->token_env)) {
        *out = mz_strdup(getenv(wc->token_env));
        if (strlen(*out) > TOKEN_MAX) {
            log_error("outputs.webhook.token_env %s: longer than 4096 bytes", wc->token_env);
            free(*out);
            *out = NULL;
            return -E2BIG;
        }
    }
    if (*out && (!**out || strpbrk(*out, "\r\n"))) {
        log_error("outputs.webhook: the bearer token is empty or holds a line break");
        free(*out);
        *out = NULL;
        return -EINVAL;
    }
    return 0;
}

struct prn_printer *prn_webhook_new(const struct mz_config *cfg)
{
    const typeof(cfg->outputs.webhook) *wc = &cfg->outputs.webhook;
    struct webhook *w;
    struct prn_transport *t;
    char *token = NULL;

    if (!mz_url_https_or_loopback(wc->url)) {
        log_error("outputs.webhook.url: expected an https:// URL (plain http:// only to a "
                  "loopback address), got \"%s\"",
                  wc->url ? wc->url : "null");
        return NULL;
    }
    if (load_token(cfg, &token))
        return NULL;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    w = mz_calloc(1, sizeof(*w));
    w->url = mz_strdup(wc->url);
    w->ca_file = mz_strdup(wc->ca_file);
    w->verify = wc->tls_verify;
    w->curl = curl_easy_init();
    if (!w->curl) {
        free(token);
        webhook_free(w);
        return NULL;
    }
    w->headers = curl_slist_append(w->headers, "Content-Type: application/json");
    w->headers = curl_slist_append(w->headers, "User-Agent: mizan");
    w->headers = curl_slist_append(w->headers, "Expect:");
    if (token) {
        size_t len = strlen(token) + 32;
        char *h = mz_calloc(1, len);
        snprintf(h, len, "Authorization: Bearer %s", token);
        w->headers = curl_slist_append(w->headers, h);
        explicit_bzero(h, len);
        free(h);
        explicit_bzero(token, strlen(token));
        free(token);
    }
    curl_easy_setopt(w->curl, CURLOPT_URL, w->url);
    curl_easy_setopt(w->curl, CURLOPT_HTTPHEADER, w->headers);
    curl_easy_setopt(w->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(w->curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(w->curl, CURLOPT_PROTOCOLS_STR, "https,http");
    curl_easy_setopt(w->curl, CURLOPT_SSL_VERIFYPEER, w->verify ? 1L : 0L);
    curl_easy_setopt(w->curl, CURLOPT_SSL_VERIFYHOST, w->verify ? 2L : 0L);
    if (w->ca_file)
        curl_easy_setopt(w->curl, CURLOPT_CAINFO, w->ca_file);
    curl_easy_setopt(w->curl, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(w->curl, CURLOPT_ERRORBUFFER, w->errbuf);
    if (!w->verify)
        log_warn("outputs.webhook.tls_verify is false: the endpoint's certificate is not checked");

    t = mz_calloc(1, sizeof(*t));
    t->name = "webhook";
    t->ctx = w;
    t->send = webhook_send;
    t->free = webhook_free;
    return prn_net_new(&wc->c, t);
}
