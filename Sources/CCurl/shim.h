// Typed wrappers around libcurl's variadic calls, which Swift cannot call directly.
// One wrapper per argument type; nothing else belongs here.
#ifndef SWITCHYARD_CCURL_SHIM_H
#define SWITCHYARD_CCURL_SHIM_H

#include <curl/curl.h>

typedef size_t (*sy_data_callback)(char *ptr, size_t size, size_t nmemb, void *userdata);
typedef int (*sy_seek_callback)(void *userdata, curl_off_t offset, int origin);

static inline CURLcode sy_easy_setopt_long(CURL *h, CURLoption o, long v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode sy_easy_setopt_off_t(CURL *h, CURLoption o, curl_off_t v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode sy_easy_setopt_string(CURL *h, CURLoption o, const char *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode sy_easy_setopt_pointer(CURL *h, CURLoption o, void *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode sy_easy_setopt_slist(CURL *h, CURLoption o, struct curl_slist *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode sy_easy_setopt_callback(CURL *h, CURLoption o, sy_data_callback v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode sy_easy_setopt_seek_callback(CURL *h, CURLoption o, sy_seek_callback v) { return curl_easy_setopt(h, o, v); }

static inline CURLcode sy_easy_getinfo_long(CURL *h, CURLINFO i, long *v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode sy_easy_getinfo_pointer(CURL *h, CURLINFO i, char **v) { return curl_easy_getinfo(h, i, v); }

static inline CURLMcode sy_multi_setopt_long(CURLM *m, CURLMoption o, long v) { return curl_multi_setopt(m, o, v); }

/// CURL_WRITEFUNC_PAUSE and CURLPAUSE_CONT are macros Swift does not import.
static inline size_t sy_writefunc_pause(void) { return CURL_WRITEFUNC_PAUSE; }
static inline CURLcode sy_easy_unpause(CURL *h) { return curl_easy_pause(h, CURLPAUSE_CONT); }

/// CURLMsg keeps the transfer's result in a union.
static inline CURLcode sy_msg_result(const CURLMsg *msg) { return msg->data.result; }
static inline int sy_msg_is_done(const CURLMsg *msg) { return msg->msg == CURLMSG_DONE; }

#endif
