/* Unit tests for master/report.c: a crafted summary.json and stats_history.csv in a
 * scratch folder, report_write, then report.html read back: the data element parsed
 * with jansson and compared with the input, the history columns (N/A as null, per-name
 * rows skipped, t from the first row), no external resource outside the data, hostile
 * names unable to end the script element, a 24 h history, and the errors (missing
 * folder, missing or broken summary). Rendering itself is report.js's, checked in a
 * browser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "master/assets.h"
#include "master/report.h"

#define HOSTILE_NAME "</script><b>x</b><!--"

static const char history_header[] =
    "Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,"
    "99%,99.9%,99.99%,100%,Total Request Count,Total Failure Count,Total Median Response "
    "Time,Total Average Response Time,Total Min Response Time,Total Max Response Time,"
    "Total Average Content Size\r\n";

static const char summary_text[] =
    "{\"scenario\": \"erp <peak>\", \"file\": \"configs/erp-peak.yaml\",\n"
    " \"target\": \"http://127.0.0.1:8000\", \"start\": \"2026-01-02T03:04:05.000Z\",\n"
    " \"end\": \"2026-01-02T03:05:05.000Z\", \"duration_s\": 60.0, \"stop_reason\": \"finished\",\n"
    " \"peak_users\": 20,\n"
    " \"totals\": {\"requests\": 1500, \"failures\": 3, \"rps\": 25.0, \"error_rate\": 0.002,\n"
    "   \"latency_ms\": {\"min\": 0.1, \"mean\": 2.5, \"p50\": 2.0, \"p90\": 4.0, \"p95\": 5.5,\n"
    "                  \"p99\": 9.25, \"p999\": 20.0, \"max\": 31.0}},\n"
    " \"requests\": [\n"
    "  {\"name\": \"login\", \"method\": \"POST\", \"requests\": 500, \"failures\": 0,\n"
    "   \"latency_ms\": {\"min\": 0.1, \"mean\": 2.0, \"p50\": 2.0, \"p90\": 3.0, \"p95\": 4.0,\n"
    "                  \"p99\": 8.0, \"p999\": 9.0, \"max\": 10.0}},\n"
    "  {\"name\": \"" HOSTILE_NAME "\", \"method\": \"GET\", \"requests\": 1000, \"failures\": 3,\n"
    "   \"latency_ms\": {\"min\": 0.2, \"mean\": 3.0, \"p50\": 2.5, \"p90\": 4.5, \"p95\": 6.0,\n"
    "                  \"p99\": 10.0, \"p999\": 25.0, \"max\": 31.0}}],\n"
    " \"ws\": [{\"name\": \"feed\", \"connects\": 5, \"expects\": 40, \"expect_failures\": 1,\n"
    "   \"closes\": {\"1000\": 5}, \"message_ms\": {\"min\": 1.0, \"mean\": 2.0, \"p50\": 2.0,\n"
    "   \"p90\": 3.0, \"p95\": 3.5, \"p99\": 4.0, \"p999\": 4.0, \"max\": 4.0}}],\n"
    " \"errors\": [{\"name\": \"" HOSTILE_NAME "\", \"method\": \"GET\", \"kind\": \"http_status\",\n"
    "   \"detail\": \"503 see https://example.test/\", \"count\": 3}],\n"
    " \"thresholds\": [{\"expr\": \"p95 < 500ms\", \"ok\": true, \"value\": 5.5},\n"
    "                  {\"expr\": \"error_rate < 0.1%\", \"ok\": false, \"value\": 0.002}],\n"
    " \"workers\": [{\"id\": \"w1\", \"host\": \"h1\", \"threads\": 2, \"requests\": 1500,\n"
    "                \"state\": \"finished\"}],\n"
    " \"unicode\": \"caf\\u00e9 \\u2028 \\\"q\\\" \\\\ \\/\",\n"
    " \"co_corrected\": {\"latency_ms\": {\"p50\": 2.0, \"p99\": 40.0}}}\n";

/* ---- helpers ---------------------------------------------------------------------- */

static char *scratch_dir(void)
{
    char *d = strdup("/tmp/test_report.XXXXXX");
    assert_non_null(d);
    assert_non_null(mkdtemp(d));
    return d;
}

static char *path_in(const char *dir, const char *name)
{
    char *p = NULL;
    assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
    return p;
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char *p = path_in(dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
    free(p);
}

/* The whole file, NUL-terminated; NULL when it does not exist. */
static char *read_file(const char *dir, const char *name, size_t *len)
{
    char *p = path_in(dir, name);
    FILE *f = fopen(p, "rb");
    free(p);
    if (!f) return NULL;
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    if (len) *len = (size_t)n;
    return buf;
}

static bool file_exists(const char *dir, const char *name)
{
    char *p = path_in(dir, name);
    bool ok = access(p, F_OK) == 0;
    free(p);
    return ok;
}

static void remove_dir(char *dir)
{
    static const char *const names[] = {
        "summary.json", "stats_history.csv", "report.html", "report.html.tmp", "schedule.csv"
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char *p = path_in(dir, names[i]);
        unlink(p);
        free(p);
    }
    assert_int_equal(rmdir(dir), 0);
    free(dir);
}

static const char data_open[] = "<script type=\"application/json\" id=\"stampede-data\">";

/* The bytes of the data element (between its tags) as [*start, *end). */
static void data_span(const char *html, const char **start, const char **end)
{
    const char *s = strstr(html, data_open);
    assert_non_null(s);
    assert_null(strstr(s + 1, data_open));              /* exactly one data element */
    s += strlen(data_open);
    const char *e = strstr(s, "</script>");
    assert_non_null(e);
    *start = s;
    *end = e;
}

/* The data element parsed back; the raw text holds no "<" at all. */
static json_t *parse_data(const char *html)
{
    const char *s, *e;
    data_span(html, &s, &e);
    assert_null(memchr(s, '<', (size_t)(e - s)));
    json_error_t jerr;
    json_t *d = json_loadb(s, (size_t)(e - s), 0, &jerr);
    if (!d) fail_msg("data element is not JSON: %s at %d:%d", jerr.text, jerr.line, jerr.column);
    assert_true(json_is_object(d));
    return d;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

/* Removes the first occurrence of [s, s+len) from html (in place). */
static void cut(char *html, const char *s, size_t len)
{
    char *p = strstr(html, s);
    if (p) memmove(p, p + len, strlen(p + len) + 1);
}

static char *write_report(const char *dir)
{
    char err[512] = "";
    int rc = report_write(dir, err, sizeof err);
    if (rc != 0) fail_msg("report_write: %s", err);
    assert_false(file_exists(dir, "report.html.tmp"));
    char *html = read_file(dir, "report.html", NULL);
    assert_non_null(html);
    return html;
}

static double num_at(const json_t *arr, size_t i)
{
    const json_t *v = json_array_get(arr, i);
    assert_true(json_is_number(v));
    return json_number_value(v);
}

/* ---- tests ------------------------------------------------------------------------- */

/* The data element carries summary.json unchanged, hostile names included. */
static void test_report_summary_roundtrip(void **state)
{
    (void)state;
    char *dir = scratch_dir();
    write_file(dir, "summary.json", summary_text);
    char *html = write_report(dir);

    json_t *d = parse_data(html);
    json_t *want = json_loads(summary_text, 0, NULL);
    assert_non_null(want);
    assert_true(json_equal(json_object_get(d, "summary"), want));
    json_t *s = json_object_get(d, "summary");
    assert_string_equal(json_string_value(json_object_get(s, "scenario")), "erp <peak>");
    json_t *r1 = json_array_get(json_object_get(s, "requests"), 1);
    assert_string_equal(json_string_value(json_object_get(r1, "name")), HOSTILE_NAME);
    assert_int_equal(json_integer_value(json_object_get(r1, "requests")), 1000);
    assert_true(json_number_value(json_object_get(json_object_get(r1, "latency_ms"), "p99")) == 10.0);
    assert_string_equal(json_string_value(json_object_get(s, "unicode")), "caf\xc3\xa9 \xe2\x80\xa8 \"q\" \\ /");
    json_t *co = json_object_get(json_object_get(s, "co_corrected"), "latency_ms");
    assert_true(json_number_value(json_object_get(co, "p99")) == 40.0);

    /* Without stats_history.csv the history is there, with empty columns. */
    json_t *h = json_object_get(d, "history");
    assert_true(json_is_object(h));
    static const char *const keys[] = { "t", "users", "rps", "fps", "p50", "p95", "p99" };
    for (size_t i = 0; i < 7; i++) {
        assert_true(json_is_array(json_object_get(h, keys[i])));
        assert_int_equal(json_array_size(json_object_get(h, keys[i])), 0);
    }
    /* The title is HTML-escaped. */
    assert_non_null(strstr(html, "<title>Stampede report: erp &lt;peak&gt;</title>"));
    json_decref(want);
    json_decref(d);
    free(html);
    remove_dir(dir);
}

/* No data can end the script element; the page's own elements stay intact. */
static void test_report_escapes_script_end(void **state)
{
    (void)state;
    char *dir = scratch_dir();
    write_file(dir, "summary.json", summary_text);
    char *html = write_report(dir);

    assert_null(strstr(html, "</script><b>"));
    assert_null(strstr(html, "<b>x</b>"));
    assert_null(strstr(html, "<!--"));
    assert_non_null(strstr(html, "\\u003c/script>\\u003cb>"));
    /* Three script elements (data, uPlot, report.js), each closed exactly once. */
    assert_int_equal(count(html, "<script"), 3);
    assert_int_equal(count(html, "</script>"), 3);
    assert_int_equal(count(html, "<style>"), 3);
    assert_int_equal(count(html, "</style>"), 3);
    /* The data element comes before the renderer, after the placeholder it fills. */
    const char *data = strstr(html, data_open), *placeholder = strstr(html, "id=\"report\"");
    const asset *js = asset_get("report.js");
    assert_non_null(js);
    assert_non_null(placeholder);
    assert_true(placeholder < data);
    if (js->len > 0) {
        const char *code = strstr(html, (const char *)js->data);
        assert_non_null(code);
        assert_true(data < code);
    }
    assert_non_null(strstr(html, "</body>\n</html>\n"));
    free(html);
    remove_dir(dir);
}

/* Everything is inline: no src, no link, no URL outside the data and uPlot's licence
 * comment; the embedded assets are all there. */
static void test_report_self_contained(void **state)
{
    (void)state;
    char *dir = scratch_dir();
    write_file(dir, "summary.json", summary_text);
    char *html = write_report(dir);

    static const char *const names[] = { "uPlot.min.js", "uPlot.min.css", "app.css", "report.js" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const asset *a = asset_get(names[i]);
        assert_non_null(a);
        if (a->len > 0 && !strstr((const char *)a->data, "</"))
            assert_non_null(strstr(html, (const char *)a->data));
    }
    const char *s, *e;
    data_span(html, &s, &e);
    memmove((char *)s, e, strlen(e) + 1);                /* drop the data */
    const asset *up = asset_get("uPlot.min.js");
    cut(html, (const char *)up->data, up->len);          /* and uPlot (licence URL) */
    assert_null(strstr(html, "http://"));
    assert_null(strstr(html, "https://"));
    assert_null(strstr(html, "<script src"));
    assert_null(strstr(html, " src="));
    assert_null(strstr(html, "<link"));
    assert_null(strstr(html, "@import"));
    assert_null(strstr(html, "url(http"));
    assert_null(strstr(html, "url(//"));
    free(html);
    remove_dir(dir);
}

/* The history: Aggregated rows only, t from the first row, N/A and blanks as null,
 * quoted fields with commas and line breaks, "\r\n" or "\n". */
static void test_report_history(void **state)
{
    (void)state;
    char *dir = scratch_dir();
    write_file(dir, "summary.json", summary_text);
    char csv[4096];
    snprintf(csv, sizeof csv, "%s"
             "1795614664,5,,Aggregated,8.000000,0.000000,1,2,2,2,3,4,5,6,7,7,7,8,0,1,1.1,0.1,7,480.25\r\n"
             "1795614665,9,GET,\"/a,\"\"b\"\"\nc\",99,99,99,99,99,99,99,99,99,99,99,99,99,99,99,99,99,99,99\r\n"
             "1795614665,9,,Aggregated,12.500000,0.500000,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,20,1,0,0.5,0.1,7,500\r\n"
             "not-a-time,9,,Aggregated,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1\r\n"
             "\r\n"
             "1795614667,20,,Aggregated,14,,30,31,32,33,34,35,36,37,38,39,40,40,1,1,1,1,1,1\n",
             history_header);
    write_file(dir, "stats_history.csv", csv);
    char *html = write_report(dir);
    json_t *d = parse_data(html);
    json_t *h = json_object_get(d, "history");
    static const char *const keys[] = { "t", "users", "rps", "fps", "p50", "p95", "p99" };
    for (size_t i = 0; i < 7; i++)
        assert_int_equal(json_array_size(json_object_get(h, keys[i])), 3);
    json_t *t = json_object_get(h, "t"), *users = json_object_get(h, "users");
    assert_true(num_at(t, 0) == 0 && num_at(t, 1) == 1 && num_at(t, 2) == 3);
    assert_true(num_at(users, 0) == 5 && num_at(users, 1) == 9 && num_at(users, 2) == 20);
    json_t *rps = json_object_get(h, "rps"), *fps = json_object_get(h, "fps");
    assert_true(num_at(rps, 0) == 8 && num_at(rps, 1) == 12.5 && num_at(rps, 2) == 14);
    assert_true(num_at(fps, 1) == 0.5);
    assert_true(json_is_null(json_array_get(fps, 2)));        /* blank */
    json_t *p50 = json_object_get(h, "p50"), *p95 = json_object_get(h, "p95"),
           *p99 = json_object_get(h, "p99");
    assert_true(num_at(p50, 0) == 1 && num_at(p95, 0) == 4 && num_at(p99, 0) == 6);
    assert_true(json_is_null(json_array_get(p50, 1)));        /* N/A */
    assert_true(json_is_null(json_array_get(p95, 1)));
    assert_true(json_is_null(json_array_get(p99, 1)));
    assert_true(num_at(p50, 2) == 30 && num_at(p95, 2) == 35 && num_at(p99, 2) == 37);
    json_decref(d);
    free(html);
    remove_dir(dir);
}

/* schedule.csv (the open model) goes into the data element as "schedule", its columns
 * by name (N/A as null, t from its first row); a folder without one gets null. */
static void test_report_schedule(void **state)
{
    (void)state;
    char *dir = scratch_dir();
    write_file(dir, "summary.json", summary_text);
    char *html = write_report(dir);
    json_t *d = parse_data(html);
    assert_true(json_is_null(json_object_get(d, "schedule")));   /* closed run: none */
    json_decref(d);
    free(html);

    write_file(dir, "schedule.csv",
               "Timestamp,Planned Rate,Achieved Rate,Intended,Started,Dropped,Backlog Max,"
               "Lag p50,Lag p99,Lag Max,Service p50,Service p95,Service p99,CPU Max,Limited\r\n"
               "1795614664,10.0,9.0,10,9,1,3,5,9,9,5,10,10,0.5,0\r\n"
               "1795614665,5.0,5.0,5,5,0,0,20,20,20,N/A,N/A,N/A,0.95,1\r\n");
    html = write_report(dir);
    d = parse_data(html);
    json_t *s = json_object_get(d, "schedule");
    assert_true(json_is_object(s));
    static const char *const keys[] = { "t", "planned", "achieved", "backlog", "dropped",
                                        "lag_p99", "s50", "s95", "s99", "limited" };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        assert_int_equal(json_array_size(json_object_get(s, keys[i])), 2);
    assert_int_equal(json_object_size(s), sizeof keys / sizeof keys[0]);
    assert_true(num_at(json_object_get(s, "t"), 0) == 0 && num_at(json_object_get(s, "t"), 1) == 1);
    assert_true(num_at(json_object_get(s, "planned"), 0) == 10);
    assert_true(num_at(json_object_get(s, "achieved"), 0) == 9);
    assert_true(num_at(json_object_get(s, "backlog"), 0) == 3);
    assert_true(num_at(json_object_get(s, "dropped"), 0) == 1);
    assert_true(num_at(json_object_get(s, "lag_p99"), 1) == 20);
    assert_true(num_at(json_object_get(s, "s95"), 0) == 10);
    assert_true(json_is_null(json_array_get(json_object_get(s, "s95"), 1)));   /* N/A */
    assert_true(num_at(json_object_get(s, "limited"), 0) == 0);
    assert_true(num_at(json_object_get(s, "limited"), 1) == 1);
    json_decref(d);
    free(html);
    remove_dir(dir);
}

/* A 24 h run at one row a second: every row arrives, nothing has a fixed limit. */
static void test_report_day_of_history(void **state)
{
    (void)state;
    enum { ROWS = 86400 };
    char *dir = scratch_dir();
    write_file(dir, "summary.json", summary_text);
    char *p = path_in(dir, "stats_history.csv");
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(history_header, f);
    for (int i = 0; i < ROWS; i++)
        fprintf(f, "%d,%d,,Aggregated,%d.5,0.0,%d,1,1,1,1,%d,1,%d,1,1,1,1,0,1,1,1,1,1\r\n",
                1700000000 + i, 200, i % 1000, i % 7, i % 11, i % 13);
    assert_int_equal(fclose(f), 0);
    free(p);

    char *html = write_report(dir);
    json_t *d = parse_data(html);
    json_t *h = json_object_get(d, "history");
    json_t *t = json_object_get(h, "t"), *rps = json_object_get(h, "rps"),
           *p99 = json_object_get(h, "p99");
    assert_int_equal(json_array_size(t), ROWS);
    assert_int_equal(json_array_size(json_object_get(h, "p50")), ROWS);
    assert_true(num_at(t, ROWS - 1) == ROWS - 1);
    assert_true(num_at(rps, 12345) == 345.5);
    assert_true(num_at(p99, ROWS - 1) == (ROWS - 1) % 13);
    json_decref(d);
    free(html);
    remove_dir(dir);
}

/* An existing report is replaced whole. */
static void test_report_replaces_previous(void **state)
{
    (void)state;
    char *dir = scratch_dir();
    write_file(dir, "summary.json", summary_text);
    write_file(dir, "report.html", "stale report that is much longer than nothing at all");
    char *html = write_report(dir);
    assert_null(strstr(html, "stale report"));
    assert_int_equal(strncmp(html, "<!DOCTYPE html>", 15), 0);
    free(html);
    remove_dir(dir);
}

/* Missing folder, missing summary, a summary that is not JSON or not an object: -1,
 * a message naming the cause, and no report left behind. */
static void test_report_errors(void **state)
{
    (void)state;
    char err[512];
    err[0] = '\0';
    assert_int_equal(report_write("/nonexistent/stampede-report-test", err, sizeof err), -1);
    assert_non_null(strstr(err, "/nonexistent/stampede-report-test"));

    char *dir = scratch_dir();
    err[0] = '\0';
    assert_int_equal(report_write(dir, err, sizeof err), -1);
    assert_non_null(strstr(err, "summary.json"));
    assert_false(file_exists(dir, "report.html"));

    write_file(dir, "summary.json", "{\"scenario\": \"x\",\n \"totals\": }");
    err[0] = '\0';
    assert_int_equal(report_write(dir, err, sizeof err), -1);
    assert_non_null(strstr(err, "summary.json:2:"));
    assert_false(file_exists(dir, "report.html"));

    write_file(dir, "summary.json", "[1, 2]");
    err[0] = '\0';
    assert_int_equal(report_write(dir, err, sizeof err), -1);
    assert_non_null(strstr(err, "not a JSON object"));
    assert_false(file_exists(dir, "report.html"));
    assert_false(file_exists(dir, "report.html.tmp"));

    /* A file where the folder should be. */
    char *notdir = path_in(dir, "summary.json");
    err[0] = '\0';
    assert_int_equal(report_write(notdir, err, sizeof err), -1);
    assert_non_null(strstr(err, "not a directory"));
    free(notdir);

    /* No error buffer: still just -1. */
    assert_int_equal(report_write(dir, NULL, 0), -1);
    remove_dir(dir);
}

/* issue 9 item 13: a summary.json holding bytes that are not UTF-8 (hand-made, or from a
 * build that let them through) still renders: each bad byte reads as '?'. */
static void test_report_not_utf8(void **state)
{
    (void)state;
    char *dir = scratch_dir();
    write_file(dir, "summary.json",
               "{\"scenario\": \"x\", \"totals\": {\"requests\": 1},\n"
               " \"requests\": [{\"name\": \"/id=\xc3\x28x\", \"method\": \"GET\", \"requests\": 1}]}\n");
    char err[512] = "";
    assert_int_equal(report_write(dir, err, sizeof err), 0);
    char *html = read_file(dir, "report.html", NULL);
    assert_non_null(html);
    assert_non_null(strstr(html, "\"/id=?(x\""));
    free(html);
    char *p = path_in(dir, "summary.json");
    json_error_t je;
    json_t *j = report_load_json(p, &je);
    assert_non_null(j);
    json_t *r0 = json_array_get(json_object_get(j, "requests"), 0);
    assert_string_equal(json_string_value(json_object_get(r0, "name")), "/id=?(x");
    json_decref(j);
    free(p);
    p = path_in(dir, "absent.json");                      /* a missing file names itself */
    assert_null(report_load_json(p, &je));
    assert_non_null(strstr(je.text, p));
    assert_int_equal(je.line, -1);
    free(p);
    remove_dir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report_summary_roundtrip),
        cmocka_unit_test(test_report_escapes_script_end),
        cmocka_unit_test(test_report_self_contained),
        cmocka_unit_test(test_report_history),
        cmocka_unit_test(test_report_schedule),
        cmocka_unit_test(test_report_day_of_history),
        cmocka_unit_test(test_report_replaces_previous),
        cmocka_unit_test(test_report_errors),
        cmocka_unit_test(test_report_not_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
