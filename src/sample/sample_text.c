/* Pseudo-prose for the sample book: chapter titles, paragraphs, page breaks. */
#include <stdio.h>
#include <string.h>

#include "sample/sample_internal.h"

/* Roughly one printed page of prose between two page breaks. */
#define QR_SAMPLE_PAGE_CHARS 1800

void qr_sample__rng_init(qr_sample_rng *r, uint32_t seed, uint32_t stream)
{
    r->s = ((uint64_t)seed << 32) ^ (uint64_t)stream ^ UINT64_C(0x5157495245424f4f);
}

uint32_t qr_sample__rng_next(qr_sample_rng *r)
{
    uint64_t z = (r->s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return (uint32_t)((z ^ (z >> 31)) >> 32);
}

int qr_sample__rng_range(qr_sample_rng *r, int lo, int hi)
{
    uint32_t span = (uint32_t)(hi - lo) + 1u;
    return lo + (int)(qr_sample__rng_next(r) % span);
}

static const char *const words[] = {
    "the",      "a",        "of",         "and",      "in",       "to",      "was",     "her",
    "his",      "their",    "it",         "with",     "from",     "under",   "over",    "beyond",
    "through",  "before",   "after",      "while",    "river",    "harbour", "lantern", "garden",
    "window",   "letter",   "morning",    "evening",  "winter",   "summer",  "island",  "mountain",
    "village",  "library",  "station",    "bridge",   "orchard",  "meadow",  "kitchen", "staircase",
    "ferry",    "market",   "quiet",      "bright",   "ancient",  "narrow",  "distant", "golden",
    "silver",   "restless", "patient",    "curious",  "gentle",   "heavy",   "hollow",  "familiar",
    "walked",   "listened", "remembered", "carried",  "followed", "waited",  "noticed", "opened",
    "closed",   "turned",   "watched",    "promised", "wondered", "counted", "slowly",  "quietly",
    "suddenly", "almost",   "perhaps",    "already",  "never",    "always",  "again",   "still",
    "only",     "even",     "rain",       "light",    "shadow",   "voice",   "stone",   "paper",
    "water",    "salt",     "bread",      "smoke",    "glass",    "clock",   "road",    "door",
    "field",    "hands",    "story",      "question", "answer",   "memory",  "journey", "silence",
    "weather",
};
#define NWORDS (sizeof(words) / sizeof(words[0]))

static const char *const title_adj[] = {
    "Quiet",   "Distant", "Golden",    "Narrow",   "Hollow", "Restless", "Silver", "Patient",
    "Ancient", "Bright",  "Forgotten", "Northern", "Last",   "Second",   "Open",   "Winter",
};
static const char *const title_noun[] = {
    "Harbour", "Lantern", "Garden", "Letter",    "Orchard", "Station", "Bridge", "Island",
    "Library", "Meadow",  "Ferry",  "Staircase", "Market",  "Window",  "Road",   "Clock",
};
#define NADJ (sizeof(title_adj) / sizeof(title_adj[0]))
#define NNOUN (sizeof(title_noun) / sizeof(title_noun[0]))

void qr_sample__chapter_title(qr_sample_chapter *ch, int index, uint32_t seed)
{
    qr_sample_rng r;
    qr_sample__rng_init(&r, seed, 0x10000u + (uint32_t)index);
    const char *adj = title_adj[qr_sample__rng_next(&r) % NADJ];
    const char *noun = title_noun[qr_sample__rng_next(&r) % NNOUN];
    ch->index = index;
    snprintf(ch->title, sizeof(ch->title), "Chapter %d: The %s %s", index, adj, noun);
}

int qr_sample__xml_escape(qr_buf *out, const char *s, qr_error *err)
{
    int rc = 0;
    for (const char *p = s; *p && rc == 0; p++) {
        switch (*p) {
        case '&':
            rc = qr_buf_append(out, "&amp;", 5, err);
            break;
        case '<':
            rc = qr_buf_append(out, "&lt;", 4, err);
            break;
        case '>':
            rc = qr_buf_append(out, "&gt;", 4, err);
            break;
        case '"':
            rc = qr_buf_append(out, "&quot;", 6, err);
            break;
        case '\'':
            rc = qr_buf_append(out, "&#39;", 5, err);
            break;
        default:
            rc = qr_buf_append(out, p, 1, err);
            break;
        }
    }
    return rc;
}

/* One sentence of 6-20 words, capitalised, with an occasional comma. */
static int sentence(qr_buf *out, qr_sample_rng *r, qr_error *err)
{
    int n = qr_sample__rng_range(r, 6, 20);
    int comma = n > 10 ? qr_sample__rng_range(r, 3, n - 3) : -1;
    for (int i = 0; i < n; i++) {
        const char *w = words[qr_sample__rng_next(r) % NWORDS];
        char first[2] = {w[0], 0};
        if (i == 0 && first[0] >= 'a' && first[0] <= 'z')
            first[0] = (char)(first[0] - 'a' + 'A');
        int rc =
            qr_buf_appendf(out, err, "%s%s%s%s", i ? " " : "", first, w + 1, i == comma ? "," : "");
        if (rc < 0)
            return rc;
    }
    uint32_t end = qr_sample__rng_next(r) % 10;
    return qr_buf_append(out, end == 0 ? "?" : end == 1 ? "!" : ".", 1, err);
}

static int pagebreak(qr_buf *out, int page, qr_error *err)
{
    return qr_buf_appendf(out, err,
                          "<span epub:type=\"pagebreak\" role=\"doc-pagebreak\" id=\"page-%d\" "
                          "aria-label=\"%d\"></span>",
                          page, page);
}

static int figure(qr_buf *out, const qr_sample_image *img, qr_error *err)
{
    int rc = qr_buf_appendf(out, err,
                            "    <figure id=\"fig-%03d\">\n      <img src=\"../images/%s\" alt=\"",
                            img->index, img->name);
    if (rc == 0)
        rc = qr_sample__xml_escape(out, img->alt, err);
    if (rc == 0)
        rc = qr_buf_appendf(out, err,
                            "\"/>\n      <figcaption>Figure %d. A generated picture.</figcaption>\n"
                            "    </figure>\n",
                            img->index);
    return rc;
}

int qr_sample__chapter_xhtml(qr_buf *out, qr_sample_chapter *ch, uint32_t seed,
                             const qr_sample_image *images, int nimages, qr_error *err)
{
    qr_sample_rng r;
    qr_sample__rng_init(&r, seed, (uint32_t)ch->index);
    int rc = qr_buf_appendf(
        out, err,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE html>\n"
        "<html xmlns=\"http://www.w3.org/1999/xhtml\" xmlns:epub=\"http://www.idpf.org/2007/ops\" "
        "xml:lang=\"en\" lang=\"en\">\n<head>\n  <meta charset=\"UTF-8\"/>\n  <title>%s</title>\n"
        "  <link rel=\"stylesheet\" type=\"text/css\" href=\"../css/style.css\"/>\n</head>\n"
        "<body>\n  <section id=\"chapter-%d\" epub:type=\"chapter\">\n    ",
        ch->title, ch->index);
    int page = ch->first_page;
    ch->pages = 1;
    if (rc == 0)
        rc = pagebreak(out, page, err);
    if (rc == 0)
        rc = qr_buf_appendf(out, err, "\n    <h1>%s</h1>\n", ch->title);

    /* Paragraph count sets the chapter length: roughly 5 to 35 KB. */
    int paragraphs = qr_sample__rng_range(&r, 10, 60);
    int sections = qr_sample__rng_range(&r, 1, 4);
    size_t since_break = 0;
    int next_image = 0;
    for (int p = 0; p < paragraphs && rc == 0; p++) {
        /* Spread figures evenly over the paragraphs. */
        while (next_image < nimages && rc == 0 &&
               p >= (next_image + 1) * paragraphs / (nimages + 1))
            rc = figure(out, &images[next_image++], err);
        if (rc == 0 && p > 0 && p % (paragraphs / sections + 1) == 0)
            rc = qr_buf_appendf(out, err, "    <h2>%s</h2>\n",
                                title_noun[qr_sample__rng_next(&r) % NNOUN]);
        if (rc == 0)
            rc = qr_buf_append(out, "    <p>", 7, err);
        if (rc == 0 && since_break >= QR_SAMPLE_PAGE_CHARS) {
            page++;
            ch->pages++;
            since_break = 0;
            rc = pagebreak(out, page, err);
        }
        size_t start = out->len;
        int nsent = qr_sample__rng_range(&r, 3, 9);
        for (int s = 0; s < nsent && rc == 0; s++) {
            if (s > 0)
                rc = qr_buf_append(out, " ", 1, err);
            if (rc == 0)
                rc = sentence(out, &r, err);
        }
        since_break += out->len - start;
        if (rc == 0)
            rc = qr_buf_append(out, "</p>\n", 5, err);
    }
    while (next_image < nimages && rc == 0)
        rc = figure(out, &images[next_image++], err);
    if (rc == 0)
        rc = qr_buf_appendf(out, err, "  </section>\n</body>\n</html>\n");
    return rc;
}
