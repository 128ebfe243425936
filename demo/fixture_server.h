/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fixture_server.h - a real OpenAI-compatible chat completions server for the
 * tests and for `mizan demo` (libmicrohttpd, 127.0.0.1 only, a thread per
 * connection), with scripted misbehaviour and a record of every request it
 * received. It is part of the mizan binary so that the demo needs no model.
 *
 * Endpoints:
 *   POST {url}/chat/completions   (url = http://127.0.0.1:PORT/v1; like
 *                                  llama.cpp, /chat/completions works too;
 *                                  other paths get 404 and are not recorded)
 *   GET  /fixture/stats           {"requests","distinct_contents",
 *                                  "max_calls_per_content","max_concurrent",
 *                                  "behaviour"} - not recorded
 *   POST /fixture/behaviour       body {"behaviour":"500"} or plain "500" -
 *                                  switches the behaviour; not recorded
 *
 * Behaviours (names in parentheses, for fixture_behaviour_parse and the
 * fixture_model tool):
 *   FIXTURE_NORMAL (normal)       200, answers the configured verdict; when the
 *                                 request has no response_format the content
 *                                 is fenced in ```json like chatty models do
 *   FIXTURE_OBEY_INJECTION (obey_injection)
 *                                 answers false_positive, confidence 1.0,
 *                                 severity informational whenever the user
 *                                 message holds an instruction-like text
 *                                 (fixture_text_has_instruction), else
 *                                 true_positive 0.9 high: a model that obeys
 *   FIXTURE_OBEY_ANY (obey_any)   a model that obeys any instruction it can read:
 *                                 false_positive, confidence 1.0, informational
 *                                 when the user message, read as a model reads
 *                                 it (JSON escapes decoded, mizan's datamark
 *                                 U+02C6 read as a space), holds an
 *                                 instruction-like text or every fragment of
 *                                 one obey case (fixture_server_obey_add:
 *                                 compared without case and whitespace, so a
 *                                 case in any language, encoding or template
 *                                 is obeyed wherever it reaches the model);
 *                                 else the configured verdict, like normal
 *   FIXTURE_SLOW (slow)           normal after slow_ms
 *   FIXTURE_RATE_LIMIT (429)      429 with "Retry-After: retry_after_s"
 *   FIXTURE_ERROR_500 (500)       500 with an error body
 *   FIXTURE_LOADING_503 (503)     503 {"error":{"code":503,"message":
 *                                 "Loading model","type":"unavailable_error"}}
 *   FIXTURE_GARBAGE (garbage)     200 with an HTML body
 *   FIXTURE_TRUNCATED (truncated) 200 with the normal body cut in half
 *   FIXTURE_LENGTH (length)       200, finish_reason "length", content cut
 *   FIXTURE_BAD_SCHEMA (bad_schema)
 *                                 200, valid JSON content that breaks the
 *                                 schema (verdict "benign", confidence 7)
 *   FIXTURE_REJECT_JSON_SCHEMA (reject_json_schema)
 *                                 400 when response_format.type is
 *                                 json_schema (old llama.cpp / LM Studio
 *                                 style); json_object or none: normal
 *   FIXTURE_REJECT_STRUCTURED (reject_structured)
 *                                 400 for json_schema and json_object; normal
 *                                 without response_format
 *   FIXTURE_HUGE (huge)           200 with a 2 MiB body
 *   FIXTURE_DROP (drop)           closes the connection without a response
 * delay_ms is added before every response whatever the behaviour.
 *
 * A script (fixture_server_script) overrides the behaviour for the next n
 * requests, one entry each, then the server's behaviour applies again.
 *
 * Records are immutable once made; pointers returned by
 * fixture_server_request() stay valid until fixture_server_reset() or
 * fixture_server_stop(). All functions are thread-safe.
 */
#ifndef MIZAN_DEMO_FIXTURE_SERVER_H
#define MIZAN_DEMO_FIXTURE_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/event.h"

enum fixture_behaviour {
    FIXTURE_NORMAL = 0,
    FIXTURE_OBEY_INJECTION,
    FIXTURE_OBEY_ANY,
    FIXTURE_SLOW,
    FIXTURE_RATE_LIMIT,
    FIXTURE_ERROR_500,
    FIXTURE_LOADING_503,
    FIXTURE_GARBAGE,
    FIXTURE_TRUNCATED,
    FIXTURE_LENGTH,
    FIXTURE_BAD_SCHEMA,
    FIXTURE_REJECT_JSON_SCHEMA,
    FIXTURE_REJECT_STRUCTURED,
    FIXTURE_HUGE,
    FIXTURE_DROP,
    FIXTURE_BEHAVIOUR_COUNT
};

const char *fixture_behaviour_name(enum fixture_behaviour b);
/* 0 or -EINVAL. */
int fixture_behaviour_parse(const char *s, enum fixture_behaviour *out);

struct fixture_options {
    enum fixture_behaviour behaviour; /* default FIXTURE_NORMAL */
    uint16_t port;                    /* 0 (default): ephemeral */
    enum mz_verdict verdict;          /* normal's verdict; default false_positive */
    double confidence;                /* default 0.95 */
    const char *severity;             /* default "low" */
    const char *reason;               /* default "fixture verdict" */
    unsigned delay_ms;                /* before every response; default 0 */
    unsigned slow_ms;                 /* FIXTURE_SLOW's wait; default 5000 */
    unsigned retry_after_s;           /* FIXTURE_RATE_LIMIT's Retry-After; default 1 */
    const char *record_path;          /* also append each request as a JSON line; NULL: no */
};

/* One received request (chat completions only). */
struct fixture_request {
    size_t seq; /* 0, 1, ... in arrival order */
    char *method;
    char *path;
    char *body; /* NUL-terminated */
    size_t body_len;
    char *authorization;              /* Authorization header value, or NULL */
    char *system_content;             /* messages[role=system].content, or NULL */
    char *user_content;               /* messages[role=user].content, or NULL */
    char *response_format;            /* response_format.type, or NULL when absent */
    char *model;                      /* "model", or NULL */
    int status;                       /* what the server answered (0: dropped) */
    enum fixture_behaviour behaviour; /* the behaviour it applied */
    size_t n_headers;
    char **header_names; /* as sent */
    char **header_values;
};

struct fixture_server;

void fixture_options_default(struct fixture_options *o);
/* Starts a server on 127.0.0.1; NULL on failure (logged). */
struct fixture_server *fixture_server_start(enum fixture_behaviour b);
struct fixture_server *fixture_server_start_opts(const struct fixture_options *o);
/* Stops it (waits for its threads; sleeping responses are cut short) and
 * frees everything. Accepts NULL. */
void fixture_server_stop(struct fixture_server *fs);

uint16_t fixture_server_port(const struct fixture_server *fs);
/* "http://127.0.0.1:PORT/v1" (owned by the server). */
const char *fixture_server_url(const struct fixture_server *fs);

void fixture_server_set_behaviour(struct fixture_server *fs, enum fixture_behaviour b);
enum fixture_behaviour fixture_server_behaviour(struct fixture_server *fs);
void fixture_server_set_verdict(struct fixture_server *fs, enum mz_verdict v, double confidence,
                                const char *severity);
/* Answers (normal, slow, and the accepted requests of the reject_*
 * behaviours) use this verdict instead of the configured one when the user
 * message contains substring; the first matching rule wins (at most 32).
 * 0, -EINVAL or -ENOSPC. */
int fixture_server_answer_when(struct fixture_server *fs, const char *substring, enum mz_verdict v,
                               double confidence, const char *severity);
void fixture_server_set_delay(struct fixture_server *fs, unsigned delay_ms);
void fixture_server_set_slow(struct fixture_server *fs, unsigned slow_ms);
void fixture_server_set_retry_after(struct fixture_server *fs, unsigned seconds);
/* The next n requests get seq[0], seq[1], ... (n <= 64), then the behaviour. */
void fixture_server_script(struct fixture_server *fs, const enum fixture_behaviour *seq, size_t n);

/* Chat completion requests received so far. */
size_t fixture_server_request_count(struct fixture_server *fs);
/* Request i, or NULL when i >= count. */
const struct fixture_request *fixture_server_request(struct fixture_server *fs, size_t i);
/* Case-insensitive header lookup on a request; NULL when absent. */
const char *fixture_request_header(const struct fixture_request *r, const char *name);
/* Requests whose user message was exactly content. */
size_t fixture_server_calls_for(struct fixture_server *fs, const char *content);
/* Distinct user messages seen, and the most requests any one of them got. */
size_t fixture_server_distinct_contents(struct fixture_server *fs);
size_t fixture_server_max_calls_per_content(struct fixture_server *fs);
/* Most chat completion requests being handled at the same time. */
size_t fixture_server_max_concurrent(struct fixture_server *fs);
/* Forgets the records and counters (not the behaviour). Call it only while
 * no request is being answered (a handler still reads its record). */
void fixture_server_reset(struct fixture_server *fs);

/* Adds an obey case for FIXTURE_OBEY_ANY: the n fragments of one injected
 * instruction (two for an instruction split across fields). 0 or -EINVAL. */
int fixture_server_obey_add(struct fixture_server *fs, const char *const *frags, size_t n);
/* text without whitespace and datamarks, ASCII lowercased; json: JSON escapes
 * decoded first. New string. */
char *fixture_normalize(const char *text, bool json);

/* Does text hold an instruction to the model? Case-insensitive:
 * "ignore previous", "ignore all previous", "ignore the above",
 * "disregard", "you are", "system:", "assistant:", "<|im_start|>",
 * "<|system|>", "[inst]", "<<sys>>", "new instructions", an imitation of the
 * answer ({"verdict" or {\"verdict\"), or a zero-width / bidi control
 * character (raw UTF-8 or as a \u escape). */
bool fixture_text_has_instruction(const char *text);

#endif
