/* `stampede import-har FILE.har [-o scenario.yaml] [--host-filter HOST] [--keep-static]`
 * (issue 12): turns a browser recording (HAR 1.2, as Chromium and playwright write it)
 * into a scenario: requests in order with method, URL, headers (without cookies and
 * hop-by-hop headers) and bodies; think times from the recorded gaps; static assets
 * dropped unless --keep-static; names with ids templated; values a response returned and
 * a later request sent turned into captures and template variables (correlation), each
 * commented. Runs on the CLI's thread; reads the whole HAR into memory (bounded by
 * HAR_MAX_BYTES). Writes the scenario to -o FILE or standard output and one summary
 * line to stderr. Returns the process exit code: 0 written, 2 usage, unreadable/invalid
 * HAR or nothing to import (a message on stderr naming the file, and for a bad entry its
 * index, and what is wrong), 1 the output could not be written. The decisions (what is
 * kept, dropped, templated and correlated) are written at the top of cli/har.c. */
#ifndef CLI_HAR_H
#define CLI_HAR_H

#define HAR_MAX_BYTES (256u << 20)

/* argv[0] is "import-har". */
int har_import_main(int argc, char **argv);
#endif
