/* The kv model's check in C: pairing, per-key compiling and the search, for complete histories.
 *
 * Why: on small kv histories (Porcupine's c10 files, a few hundred ops) the Python pipeline's
 * cost is fixed interpreter work per op, about 3 us across pairing, compiling, set-up and
 * search, which left it 1.5-2x behind Porcupine's compiled Go. This module does the same
 * work on the same data in one pass without building Op or Step objects.
 *
 * It is the Python pipeline, not a variant of it: the same pairing rules, the same per-key
 * partitions in the same order, the same search (Wing-Gong with Lowe's memo, forced moves,
 * greedy reads, the Reach pruning of appends), so it explores exactly the configurations
 * the Python search explores and returns the same counts. The tests compare the two on
 * the corpus and on random histories, field by field.
 *
 * It declines (returns None) whatever it does not handle, and the caller then runs the
 * Python pipeline, which also owns every error message: malformed events, non-string keys
 * or values, processes that are not ints, indeterminate writes (info or never completed:
 * optional ops), and searches longer than `max_explored` configurations or past the deadline
 * (the Python search has the time and memory budget, progress and "unknown"). For a history that is not
 * linearizable it returns the event positions of the failing key, so that the caller can
 * build the evidence from that key's events alone.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef uint64_t word;

enum { T_OK = 0, T_FAIL = 1, T_INFO = 2, T_NEVER = 3 };
enum { K_GET = 0, K_PUT = 1, K_APPEND = 2 };

static PyObject *s_empty;

/* ---------------------------------------------------------------- helpers */

static int eq_ascii(PyObject *o, const char *text, Py_ssize_t len)
{
    return PyUnicode_CheckExact(o) && PyUnicode_IS_COMPACT_ASCII(o) && PyUnicode_GET_LENGTH(o) == len &&
           memcmp(PyUnicode_DATA(o), text, (size_t)len) == 0;
}

static int event_type(PyObject *typ) /* -2: not a type; -1: invoke */
{
    if (eq_ascii(typ, "invoke", 6)) return -1;
    if (eq_ascii(typ, "ok", 2)) return T_OK;
    if (eq_ascii(typ, "fail", 4)) return T_FAIL;
    if (eq_ascii(typ, "info", 4)) return T_INFO;
    return -2;
}

/* An event's type, time, process, f, value and index (NULL where absent) in one pass over its few keys,
 * cheaper than five lookups of keys that are never the same objects as ours. -1: a key that is
 * not an exact str, which a lookup might match through __eq__ (left to Python). */
static int event_fields(PyObject *ev, PyObject **out)
{
    Py_ssize_t pos = 0;
    PyObject *k, *v;
    out[0] = out[1] = out[2] = out[3] = out[4] = out[5] = NULL;
    while (PyDict_Next(ev, &pos, &k, &v)) {
        if (!PyUnicode_CheckExact(k)) return -1;
        if (!PyUnicode_IS_COMPACT_ASCII(k)) continue;
        const char *c = PyUnicode_DATA(k);
        switch (PyUnicode_GET_LENGTH(k)) {
        case 1: if (c[0] == 'f') out[3] = v; break;
        case 4: if (!memcmp(c, "type", 4)) out[0] = v; else if (!memcmp(c, "time", 4)) out[1] = v; break;
        case 5: if (!memcmp(c, "value", 5)) out[4] = v; else if (!memcmp(c, "index", 5)) out[5] = v; break;
        case 7: if (!memcmp(c, "process", 7)) out[2] = v; break;
        }
    }
    return 0;
}

/* A kv value's "key" and "value" (NULL where absent), likewise. */
static int kv_fields(PyObject *d, PyObject **key, PyObject **value)
{
    Py_ssize_t pos = 0;
    PyObject *k, *v;
    *key = *value = NULL;
    while (PyDict_Next(d, &pos, &k, &v)) {
        if (!PyUnicode_CheckExact(k)) return -1;
        if (!PyUnicode_IS_COMPACT_ASCII(k)) continue;
        const char *c = PyUnicode_DATA(k);
        Py_ssize_t n = PyUnicode_GET_LENGTH(k);
        if (n == 3 && !memcmp(c, "key", 3)) *key = v;
        else if (n == 5 && !memcmp(c, "value", 5)) *value = v;
    }
    return 0;
}

static PyObject *int_list(const int *xs, int n)
{
    PyObject *l = PyList_New(n);
    if (!l) return NULL;
    for (int k = 0; k < n; k++) {
        PyObject *v = PyLong_FromLong(xs[k]);
        if (!v) { Py_DECREF(l); return NULL; }
        PyList_SET_ITEM(l, k, v);
    }
    return l;
}

/* Whether CLOCK_MONOTONIC (Python's time.monotonic) is past `deadline`; 0: no deadline. */
static int past(double deadline)
{
    if (deadline <= 0) return 0;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9 > deadline;
}

static void *grow(void *p, Py_ssize_t *cap, Py_ssize_t need, size_t size)
{
    if (need <= *cap) return p;
    Py_ssize_t c = *cap ? *cap : 64;
    while (c < need) c *= 2;
    void *q = realloc(p, (size_t)c * size);
    if (q) *cap = c;
    return q;
}

static inline int lowest_bit(const word *x, int W) /* -1 if none */
{
    for (int w = 0; w < W; w++)
        if (x[w]) return w * 64 + __builtin_ctzll(x[w]);
    return -1;
}

static inline int lowest_clear(const word *x, int W)
{
    for (int w = 0; w < W; w++)
        if (~x[w]) return w * 64 + __builtin_ctzll(~x[w]);
    return W * 64;
}

static inline int is_zero(const word *x, int W)
{
    for (int w = 0; w < W; w++)
        if (x[w]) return 0;
    return 1;
}

static inline int many_bits(const word *x, int W) /* more than one bit set */
{
    int seen = 0;
    for (int w = 0; w < W; w++) {
        if (!x[w]) continue;
        if (seen || (x[w] & (x[w] - 1))) return 1;
        seen = 1;
    }
    return 0;
}

#define BIT_SET(x, b) ((x)[(b) >> 6] |= (word)1 << ((b) & 63))
#define BIT_CLEAR(x, b) ((x)[(b) >> 6] &= ~((word)1 << ((b) & 63)))
#define BIT_TEST(x, b) (((x)[(b) >> 6] >> ((b) & 63)) & 1)

/* ------------------------------------------------------------ the memo */

/* (linearized set, state) pairs, open addressing; entries own their state. Reused across keys. */
typedef struct {
    int W;
    Py_ssize_t count, cap;   /* entries */
    word *arena;             /* per entry: hash, state pointer, W words */
    Py_ssize_t slots;        /* power of two */
    int32_t *slot;           /* entry index or -1 */
} Memo;

static inline word *entry(Memo *m, Py_ssize_t i) { return m->arena + i * (2 + m->W); }

static inline word mix(word h)
{
    h ^= h >> 33; h *= 0xff51afd7ed558ccdULL; h ^= h >> 33; h *= 0xc4ceb9fe1a85ec53ULL; h ^= h >> 33;
    return h;
}

static void memo_clear(Memo *m, int W) /* empties it for a key whose sets take W words */
{
    for (Py_ssize_t i = 0; i < m->count; i++) Py_DECREF((PyObject *)(uintptr_t)entry(m, i)[1]);
    if (m->count) memset(m->slot, 0xff, sizeof(int32_t) * (size_t)m->slots);
    if (W != m->W) { /* the arena is regrown for the new entry size */
        free(m->arena);
        m->arena = NULL;
        m->cap = 0;
    }
    m->count = 0;
    m->W = W;
}

static int memo_init(Memo *m)
{
    memset(m, 0, sizeof *m);
    m->slots = 256;
    m->slot = malloc(sizeof(int32_t) * (size_t)m->slots);
    if (!m->slot) return -1;
    memset(m->slot, 0xff, sizeof(int32_t) * (size_t)m->slots);
    return 0;
}

static void memo_free(Memo *m)
{
    memo_clear(m, m->W);
    free(m->arena);
    free(m->slot);
    m->arena = NULL; m->slot = NULL;
}

static int memo_rehash(Memo *m)
{
    Py_ssize_t n = m->slots * 2;
    int32_t *s = malloc(sizeof(int32_t) * (size_t)n);
    if (!s) return -1;
    memset(s, 0xff, sizeof(int32_t) * (size_t)n);
    for (Py_ssize_t i = 0; i < m->count; i++) {
        Py_ssize_t p = (Py_ssize_t)(entry(m, i)[0] & (word)(n - 1));
        while (s[p] >= 0) p = (p + 1) & (n - 1);
        s[p] = (int32_t)i;
    }
    free(m->slot);
    m->slot = s;
    m->slots = n;
    return 0;
}

/* Adds (S, state) unless present: 1 added (the memo takes the reference), 0 present, -1 error. */
static int memo_add(Memo *m, const word *S, PyObject *state)
{
    Py_hash_t hs = PyObject_Hash(state);
    if (hs == -1) return -1;
    word h = mix((word)hs);
    for (int w = 0; w < m->W; w++) h = mix(h ^ S[w]) + (word)w;
    Py_ssize_t p = (Py_ssize_t)(h & (word)(m->slots - 1));
    while (m->slot[p] >= 0) {
        word *e = entry(m, m->slot[p]);
        if (e[0] == h && memcmp(e + 2, S, sizeof(word) * (size_t)m->W) == 0) {
            PyObject *o = (PyObject *)(uintptr_t)e[1];
            int eq = o == state ? 1 : PyObject_RichCompareBool(o, state, Py_EQ);
            if (eq < 0) return -1;
            if (eq) return 0;
        }
        p = (p + 1) & (m->slots - 1);
    }
    if (m->count >= INT32_MAX - 1) { PyErr_NoMemory(); return -1; }
    word *a = grow(m->arena, &m->cap, m->count + 1, sizeof(word) * (size_t)(2 + m->W));
    if (!a) { PyErr_NoMemory(); return -1; }
    m->arena = a;
    word *e = entry(m, m->count);
    e[0] = h;
    e[1] = (word)(uintptr_t)state;
    memcpy(e + 2, S, sizeof(word) * (size_t)m->W);
    m->slot[p] = (int32_t)m->count++;
    if (m->count * 2 > m->slots && memo_rehash(m) < 0) { PyErr_NoMemory(); return -1; }
    return 1;
}

/* ------------------------------------------------------ one key's search */

typedef struct {
    int kind, key, rank; /* rank: the op's place among its key's ops, in invocation order */
    int64_t start, end;
    PyObject *arg; /* borrowed from the history (or the empty string) */
} Step;

typedef struct {
    word *S, *cand;
    PyObject *state;
    int via; /* the op placed to reach this frame */
} Frame;

#define BEST_STATES_CAP 16 /* search.py's */

/* One key's search; its buffers are sized for the largest key and reused for every key. */
typedef struct {
    int n, W;
    word *masks;   /* n rows of W words: op j's row, every op invoked no later than j completed */
    word *ro, *eff, *reads, *resets, *scratch;
    int *kind;
    PyObject **arg;
    Frame *stack;
    word *frame_words;
    int *best_path, best_len, best_j, nbest;
    PyObject *best_states[BEST_STATES_CAP];
    Memo memo;
    Py_ssize_t budget; /* configurations left before declining */
    double deadline;   /* the check's time limit on CLOCK_MONOTONIC, 0 for none */
} Search;

/* The state after op i, as a new reference; NULL with no error: the op cannot take effect. */
static inline PyObject *apply(Search *s, int i, PyObject *state)
{
    PyObject *v = s->arg[i];
    switch (s->kind[i]) {
    case K_PUT:
        Py_INCREF(v);
        return v;
    case K_APPEND:
        return PyUnicode_Concat(state, v);
    default: {
        int eq = state == v ? 1 : PyObject_RichCompareBool(state, v, Py_EQ);
        if (eq < 0) return NULL;
        if (!eq) return NULL;
        Py_INCREF(state);
        return state;
    }
    }
}

/* search.py's Search.settle, for a partition without optional ops (so moves may be forced).
 * S and cand are W words; *state is borrowed (owned by the memo or the caller). Returns j, or -1 on error.
 * With `keep` (a list), as Search.replay calls it: no memo, every op placed is recorded in
 * rec[*nrec] and the state after it appended to `keep` (which also keeps it alive). */
static int settle(Search *s, word *S, PyObject **state, word *cand, word *tried, PyObject *keep, int *rec, int *nrec)
{
    const int W = s->W, m = s->n;
    memset(tried, 0, sizeof(word) * (size_t)W);
    for (;;) {
        int j = lowest_clear(S, W);
        if (j >= m) {
            memset(cand, 0, sizeof(word) * (size_t)W);
            return j;
        }
        const word *mj = s->masks + (size_t)j * W;
        int any_ro = 0;
        for (int w = 0; w < W; w++) {
            word en = mj[w] & ~S[w];
            word ro = en & s->ro[w] & ~tried[w];
            cand[w] = ro; /* borrowed as scratch for the read-only ops */
            any_ro |= ro != 0;
        }
        if (any_ro) {
            int grew = 0;
            for (int w = 0; w < W; w++) {
                word ro = cand[w];
                tried[w] |= ro;
                while (ro) {
                    int b = w * 64 + __builtin_ctzll(ro);
                    ro &= ro - 1;
                    PyObject *v = s->arg[b];
                    int eq = *state == v ? 1 : PyObject_RichCompareBool(*state, v, Py_EQ);
                    if (eq < 0) return -1;
                    if (eq) { /* a read that holds: placed at once */
                        BIT_SET(S, b);
                        grew = 1;
                        if (keep) {
                            if (PyList_Append(keep, *state) < 0) return -1;
                            rec[(*nrec)++] = b;
                        }
                    }
                }
            }
            if (grew) continue;
        }
        for (int w = 0; w < W; w++) cand[w] = mj[w] & ~S[w] & s->eff[w];
        if (many_bits(cand, W)) return j;
        if (!BIT_TEST(cand, j)) return j; /* none, or a single op that is not the one due first */
        /* The op due first is the only one that can go next: no choice to remember. */
        PyObject *r = apply(s, j, *state);
        if (r == NULL) {
            if (PyErr_Occurred()) return -1;
            memset(cand, 0, sizeof(word) * (size_t)W);
            return j;
        }
        BIT_SET(S, j);
        if (keep) {
            int rc = PyList_Append(keep, r);
            Py_DECREF(r);
            if (rc < 0) return -1;
            rec[(*nrec)++] = j;
        } else {
            int added = memo_add(&s->memo, S, r);
            if (added <= 0) {
                Py_DECREF(r);
                if (added < 0) return -1;
                BIT_CLEAR(S, j);
                memset(cand, 0, sizeof(word) * (size_t)W);
                return j;
            }
        }
        *state = r;
        memset(tried, 0, sizeof(word) * (size_t)W);
    }
}

static void best_clear(Search *s)
{
    for (int k = 0; k < s->nbest; k++) Py_DECREF(s->best_states[k]);
    s->nbest = 0;
}

/* Keeps search.py's record of the furthest configurations: the evidence replays them. */
static int best_note(Search *s, int j, PyObject *state, int top, int via)
{
    if (j > s->best_j) {
        best_clear(s);
        s->best_j = j;
        s->best_len = 0;
        for (int f = 1; f < top; f++) s->best_path[s->best_len++] = s->stack[f].via;
        if (via >= 0) s->best_path[s->best_len++] = via;
    } else if (j < s->best_j || s->nbest >= BEST_STATES_CAP) {
        return 0;
    } else {
        for (int k = 0; k < s->nbest; k++) {
            int eq = s->best_states[k] == state ? 1 : PyObject_RichCompareBool(s->best_states[k], state, Py_EQ);
            if (eq) return eq < 0 ? -1 : 0;
        }
    }
    Py_INCREF(state);
    s->best_states[s->nbest++] = state;
    return 0;
}

/* search.py's Search.run without optional ops: 1 linearizable, 0 not, -1 error, -2 over budget. */
static int run(Search *s, PyObject *init, Py_ssize_t *explored)
{
    const int W = s->W, m = s->n;
    int result = -1, top = 0;
    word *S = s->scratch, *cand = S + W, *tried = S + 2 * W, *x = S + 3 * W;
    for (int f = 0; f < m + 1; f++) {
        s->stack[f].S = s->frame_words + (size_t)f * 2 * W;
        s->stack[f].cand = s->stack[f].S + W;
    }
    s->best_j = -1;
    memset(S, 0, sizeof(word) * (size_t)W);
    PyObject *state = init;
    int j = settle(s, S, &state, cand, tried, NULL, NULL, NULL);
    if (j < 0) goto done;
    if (j >= m) { result = 1; goto done; }
    if (best_note(s, j, state, 0, -1) < 0) goto done;
    memcpy(s->stack[0].S, S, sizeof(word) * (size_t)W);
    memcpy(s->stack[0].cand, cand, sizeof(word) * (size_t)W);
    s->stack[0].state = state;
    s->stack[0].via = -1;
    top = 1;
    unsigned it = 0;
    while (top) {
        if (s->memo.count > s->budget || (!(++it & 1023) && past(s->deadline))) { result = -2; goto done; }
        Frame *fr = &s->stack[top - 1];
        int i = lowest_bit(fr->cand, W);
        if (i < 0) { top--; continue; }
        BIT_CLEAR(fr->cand, i);
        PyObject *r = apply(s, i, fr->state);
        if (r == NULL) {
            if (PyErr_Occurred()) goto done;
            continue;
        }
        memcpy(S, fr->S, sizeof(word) * (size_t)W);
        BIT_SET(S, i);
        int added = memo_add(&s->memo, S, r);
        if (added <= 0) {
            Py_DECREF(r);
            if (added < 0) goto done;
            continue;
        }
        state = r;
        j = settle(s, S, &state, cand, tried, NULL, NULL, NULL);
        if (j < 0) goto done;
        if (j >= m) { result = 1; goto done; }
        if (j >= s->best_j && best_note(s, j, state, top, i) < 0) goto done;
        if (!is_zero(cand, W)) {
            /* Reach: the earliest-completing read still to place must stay reachable by appends,
             * unless an op that may come before it resets the state (a put). */
            for (int w = 0; w < W; w++) x[w] = ~S[w] & s->reads[w];
            int g = lowest_bit(x, W);
            if (g >= 0) {
                const word *mg = s->masks + (size_t)g * W;
                int reset = 0;
                for (int w = 0; w < W; w++) reset |= (mg[w] & ~S[w] & s->resets[w]) != 0;
                if (!reset) {
                    int ok = PyUnicode_Tailmatch(s->arg[g], state, 0, PY_SSIZE_T_MAX, -1);
                    if (ok < 0) goto done;
                    if (!ok) memset(cand, 0, sizeof(word) * (size_t)W);
                }
            }
        }
        if (!is_zero(cand, W)) {
            if (top > m) { PyErr_SetString(PyExc_RuntimeError, "kv_native: search stack overflow"); goto done; }
            memcpy(s->stack[top].S, S, sizeof(word) * (size_t)W);
            memcpy(s->stack[top].cand, cand, sizeof(word) * (size_t)W);
            s->stack[top].state = state;
            s->stack[top].via = i;
            top++;
        }
    }
    result = 0;
done:
    *explored = s->memo.count;
    return result;
}

/* Search.replay: every op placed along the best path, in order (bits), and the state after each:
 * a tuple of two lists. */
static PyObject *replay(Search *s, PyObject *init)
{
    const int W = s->W;
    PyObject *keep = PyList_New(0), *out = NULL;
    int *rec = malloc(sizeof(int) * (size_t)(s->n + 1)), nrec = 0;
    word *S = s->scratch, *cand = S + W, *tried = S + 2 * W;
    if (!keep || !rec) { PyErr_NoMemory(); goto done; }
    memset(S, 0, sizeof(word) * (size_t)W);
    PyObject *state = init;
    if (settle(s, S, &state, cand, tried, keep, rec, &nrec) < 0) goto done;
    for (int k = 0; k < s->best_len; k++) {
        int i = s->best_path[k];
        PyObject *r = apply(s, i, state);
        if (r == NULL) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_RuntimeError, "kv_native: the best path does not replay");
            goto done;
        }
        int rc = PyList_Append(keep, r);
        Py_DECREF(r);
        if (rc < 0) goto done;
        state = r;
        BIT_SET(S, i);
        rec[nrec++] = i;
        if (settle(s, S, &state, cand, tried, keep, rec, &nrec) < 0) goto done;
    }
    PyObject *bits = int_list(rec, nrec);
    if (bits) out = Py_BuildValue("(NO)", bits, keep);
done:
    Py_XDECREF(keep);
    free(rec);
    return out;
}

typedef struct {
    int64_t end, start;
    int idx;
} Order;

static int cmp_order(const void *a, const void *b)
{
    const Order *x = a, *y = b;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    if (x->start != y->start) return x->start < y->start ? -1 : 1;
    return x->idx - y->idx;
}

static int search_alloc(Search *s, int nmax)
{
    int W = (nmax + 63) / 64 + 1;
    memset(s, 0, sizeof *s);
    s->masks = calloc((size_t)nmax * W + 9 * (size_t)W, sizeof(word));
    s->kind = malloc(sizeof(int) * (size_t)(nmax + 1));
    s->arg = malloc(sizeof(PyObject *) * (size_t)(nmax + 1));
    s->stack = malloc(sizeof(Frame) * (size_t)(nmax + 2));
    s->frame_words = malloc(sizeof(word) * 2 * (size_t)W * (size_t)(nmax + 2));
    s->best_path = malloc(sizeof(int) * (size_t)(nmax + 2));
    if (!s->masks || !s->kind || !s->arg || !s->stack || !s->frame_words || !s->best_path || memo_init(&s->memo) < 0) {
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

static void search_free(Search *s)
{
    best_clear(s);
    memo_free(&s->memo);
    free(s->masks); free(s->kind); free(s->arg); free(s->stack); free(s->frame_words); free(s->best_path);
}

/* Searches one key's steps (in invocation order): 1, 0, -1 error, -2 over budget. ord and
 * by_start are scratch arrays of n entries. The search's memo and best record stay until the next key. */
static int search_key(Search *s, Step *steps, int n, PyObject *init, Py_ssize_t budget, Py_ssize_t *explored,
                      Order *ord, Order *by_start, int *bit_of)
{
    *explored = 0;
    best_clear(s);
    if (n == 0) return 1;
    const int W = (n + 63) / 64;
    memo_clear(&s->memo, W);
    s->n = n;
    s->W = W;
    s->budget = budget;
    memset(s->masks, 0, sizeof(word) * ((size_t)n * W + 9 * (size_t)W));
    s->ro = s->masks + (size_t)n * W;
    s->eff = s->ro + W;
    s->reads = s->eff + W;
    s->resets = s->reads + W;
    s->scratch = s->resets + W; /* S, cand, tried, x */
    /* Bits in completion order (ties by invocation), as search.py's stable sorts give. */
    for (int k = 0; k < n; k++) {
        ord[k].end = steps[k].end; ord[k].start = steps[k].start; ord[k].idx = k;
        by_start[k].end = steps[k].start; by_start[k].start = 0; by_start[k].idx = k;
    }
    qsort(ord, (size_t)n, sizeof(Order), cmp_order);
    qsort(by_start, (size_t)n, sizeof(Order), cmp_order);
    for (int b = 0; b < n; b++) {
        const Step *st = &steps[ord[b].idx];
        bit_of[ord[b].idx] = b;
        s->kind[b] = st->kind;
        s->arg[b] = st->arg;
        if (st->kind == K_GET) {
            BIT_SET(s->ro, b);
            BIT_SET(s->reads, b);
        } else {
            BIT_SET(s->eff, b);
            if (st->kind == K_PUT) BIT_SET(s->resets, b);
        }
    }
    /* The masks only grow in completion order: one sweep over the ops by invocation. */
    word *acc = s->scratch + 4 * W;
    int p = 0;
    for (int b = 0; b < n; b++) {
        int64_t e = ord[b].end;
        while (p < n && by_start[p].end <= e) {
            BIT_SET(acc, bit_of[by_start[p].idx]);
            p++;
        }
        memcpy(s->masks + (size_t)b * W, acc, sizeof(word) * (size_t)W);
    }
    return run(s, init, explored);
}

/* --------------------------------------------------------------- check */

typedef struct {
    PyObject *f, *inv, *val;
    int type, key;
    int64_t start, end;
    Py_ssize_t inv_pos, comp_pos;
} Raw;

typedef struct {
    int first, count; /* steps of this key in `keysteps` */
    int fill, ops;    /* ops: how many of the key's ops are numbered so far */
    PyObject *key;    /* borrowed from the history */
} Part;

static Part *sort_parts; /* qsort has no context argument in C99; the check holds the GIL */

static int cmp_by_size(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    int cx = sort_parts[x].count, cy = sort_parts[y].count;
    if (cx != cy) return cx < cy ? -1 : 1;
    return x - y; /* stable: keys in order of first appearance */
}

#define MAX_PROCESS (1 << 20) /* processes are small ints; anything larger is left to Python */
#define DECLINE do { declined = 1; goto done; } while (0)

static PyObject *kv_check(PyObject *self, PyObject *args)
{
    PyObject *history, *init;
    int drop_failed;
    Py_ssize_t max_explored;
    double deadline;
    if (!PyArg_ParseTuple(args, "OUpnd", &history, &init, &drop_failed, &max_explored, &deadline)) return NULL;
    if (!PyList_CheckExact(history)) Py_RETURN_NONE;

    PyObject *result = NULL, *keys = PyDict_New();
    Raw *raw = NULL;
    Step *steps = NULL, *keysteps = NULL;
    Part *parts = NULL;
    int *porder = NULL, *pend = NULL, *bit_of = NULL;
    Order *ord = NULL, *by_start = NULL;
    Search search;
    int searching = 0;
    Py_ssize_t nraw = 0, rawcap = 0, nsteps = 0, stepcap = 0, nparts = 0, partcap = 0, pendcap = 0;
    int declined = 0;
    if (!keys) goto done;

    /* Pairing (history.pair's rules); pend[process] is 1 + the slot of its open invoke. */
    Py_ssize_t len = PyList_GET_SIZE(history);
    for (Py_ssize_t pos = 0; pos < len; pos++) {
        PyObject *ev = PyList_GET_ITEM(history, pos);
        if (!PyDict_CheckExact(ev)) DECLINE;
        PyObject *fields[6];
        if (event_fields(ev, fields) < 0) DECLINE;
        PyObject *typ = fields[0], *t = fields[1], *proc = fields[2], *f = fields[3], *value = fields[4];
        /* Without its index an event is numbered by its position, which the evidence, paired from
         * the failing key's events alone, would not know. */
        if (!typ || !t || !proc || !f || !value || !fields[5]) DECLINE;
        int et = event_type(typ);
        if (et == -2 || !PyLong_CheckExact(t)) DECLINE;
        int overflow = 0;
        long long tv = PyLong_AsLongLongAndOverflow(t, &overflow);
        if (overflow || (tv == -1 && PyErr_Occurred())) { PyErr_Clear(); DECLINE; }
        if (!PyLong_CheckExact(proc)) {
            if (eq_ascii(proc, "nemesis", 7)) continue;
            DECLINE;
        }
        long pv = PyLong_AsLongAndOverflow(proc, &overflow);
        if (overflow || pv < 0 || pv >= MAX_PROCESS) { PyErr_Clear(); DECLINE; }
        if (pv >= pendcap) {
            Py_ssize_t old = pendcap;
            int *p2 = grow(pend, &pendcap, pv + 1, sizeof(int));
            if (!p2) { PyErr_NoMemory(); goto done; }
            pend = p2;
            memset(pend + old, 0, sizeof(int) * (size_t)(pendcap - old));
        }
        if (et == -1) {
            if (pend[pv]) DECLINE; /* a second invoke while the first is open */
            if (nraw >= INT32_MAX - 1) DECLINE;
            Raw *r2 = grow(raw, &rawcap, nraw + 1, sizeof(Raw));
            if (!r2) { PyErr_NoMemory(); goto done; }
            raw = r2;
            Raw *r = &raw[nraw];
            r->f = f; r->inv = value; r->val = value; r->type = T_NEVER; r->start = tv; r->end = 0;
            r->inv_pos = pos; r->comp_pos = -1; r->key = -1;
            pend[pv] = (int)++nraw;
            continue;
        }
        if (!pend[pv]) DECLINE; /* a completion without an invoke */
        Raw *r = &raw[pend[pv] - 1];
        int same = f == r->f ? 1 : PyObject_RichCompareBool(f, r->f, Py_EQ);
        if (same < 0) goto done;
        if (!same) DECLINE;
        pend[pv] = 0;
        r->type = et; r->val = value; r->end = tv; r->comp_pos = pos;
    }

    /* Compiling, per key (KvModel.keyed), in invocation order. */
    Py_ssize_t nops = 0;
    for (Py_ssize_t i = 0; i < nraw; i++) {
        Raw *r = &raw[i];
        if (drop_failed && r->type == T_FAIL) continue; /* Jepsen's reading: a failed op never happened */
        nops++;
        PyObject *v = r->inv != Py_None ? r->inv : r->val, *k, *x;
        if (!PyDict_CheckExact(v) || kv_fields(v, &k, &x) < 0 || !k || !PyUnicode_CheckExact(k)) DECLINE;
        int kind;
        if (eq_ascii(r->f, "get", 3)) kind = K_GET;
        else if (eq_ascii(r->f, "put", 3)) kind = K_PUT;
        else if (eq_ascii(r->f, "append", 6)) kind = K_APPEND;
        else DECLINE;
        PyObject *idx = PyDict_GetItemWithError(keys, k);
        int key;
        if (idx) {
            key = (int)PyLong_AsLong(idx);
        } else {
            if (PyErr_Occurred()) goto done;
            if (nparts >= INT32_MAX - 1) DECLINE;
            Part *p2 = grow(parts, &partcap, nparts + 1, sizeof(Part));
            if (!p2) { PyErr_NoMemory(); goto done; }
            parts = p2;
            parts[nparts].count = parts[nparts].fill = parts[nparts].ops = 0;
            parts[nparts].key = k;
            PyObject *num = PyLong_FromSsize_t(nparts);
            if (!num) goto done;
            int rc = PyDict_SetItem(keys, k, num);
            Py_DECREF(num);
            if (rc < 0) goto done;
            key = (int)nparts++;
        }
        r->key = key;
        int rank = parts[key].ops++;
        if (kind == K_GET) {
            if (r->type != T_OK) continue; /* a read with no result constrains nothing */
            PyObject *unused;
            if (!PyDict_CheckExact(r->val) || kv_fields(r->val, &unused, &x) < 0) DECLINE;
        } else {
            if (r->type == T_FAIL) continue;
            if (r->type != T_OK) DECLINE; /* an indeterminate write: optional ops are the Python search's */
        }
        if (!x || x == Py_None) {
            x = s_empty;
        } else if (!PyUnicode_CheckExact(x)) {
            DECLINE;
        }
        if (nsteps >= INT32_MAX - 1) DECLINE;
        Step *s2 = grow(steps, &stepcap, nsteps + 1, sizeof(Step));
        if (!s2) { PyErr_NoMemory(); goto done; }
        steps = s2;
        steps[nsteps].kind = kind;
        steps[nsteps].key = key;
        steps[nsteps].rank = rank;
        steps[nsteps].start = r->start;
        steps[nsteps].end = r->end;
        steps[nsteps++].arg = x;
        parts[key].count++;
    }

    /* Each key's steps together, still in invocation order; keys searched smallest first. */
    keysteps = malloc(sizeof(Step) * (size_t)(nsteps + 1));
    porder = malloc(sizeof(int) * (size_t)(nparts + 1));
    if (!keysteps || !porder) { PyErr_NoMemory(); goto done; }
    int at = 0, nmax = 0;
    for (Py_ssize_t p = 0; p < nparts; p++) {
        parts[p].first = at;
        at += parts[p].count;
        porder[p] = (int)p;
        if (parts[p].count > nmax) nmax = parts[p].count;
    }
    for (Py_ssize_t i = 0; i < nsteps; i++) {
        Part *p = &parts[steps[i].key];
        keysteps[p->first + p->fill++] = steps[i];
    }
    sort_parts = parts;
    qsort(porder, (size_t)nparts, sizeof(int), cmp_by_size);
    sort_parts = NULL;

    ord = malloc(sizeof(Order) * (size_t)(nmax + 1));
    by_start = malloc(sizeof(Order) * (size_t)(nmax + 1));
    bit_of = malloc(sizeof(int) * (size_t)(nmax + 1));
    if (!ord || !by_start || !bit_of) { PyErr_NoMemory(); goto done; }
    searching = 1;
    if (search_alloc(&search, nmax) < 0) goto done;
    search.deadline = deadline;
    Py_ssize_t explored_total = 0, keys_done = 0;
    int bad = -1;
    for (Py_ssize_t q = 0; q < nparts; q++) {
        Part *p = &parts[porder[q]];
        Py_ssize_t explored = 0;
        if (past(deadline)) DECLINE; /* the Python search answers "unknown" with what it can tell */
        int rc = search_key(&search, keysteps + p->first, p->count, init, max_explored - explored_total, &explored,
                            ord, by_start, bit_of);
        if (rc == -1) goto done;
        if (rc == -2) DECLINE;
        explored_total += explored;
        keys_done++;
        if (rc == 0) { bad = porder[q]; break; }
    }

    result = Py_BuildValue("{s:O,s:n,s:n,s:n,s:n,s:n}", "valid", bad < 0 ? Py_True : Py_False, "ops", nops,
                           "keys", nparts, "searched_ops", nsteps, "explored", explored_total, "keys_done", keys_done);
    if (!result || bad < 0) goto done;
    /* Not linearizable: where the failing key's events are, and the search's furthest configurations. */
    PyObject *positions = PyList_New(0), *path = NULL, *states = NULL;
    int ok = positions != NULL;
    for (Py_ssize_t i = 0; ok && i < nraw; i++) {
        if (raw[i].key != bad) continue;
        Py_ssize_t at2[2] = {raw[i].inv_pos, raw[i].comp_pos};
        for (int e = 0; ok && e < 2 && at2[e] >= 0; e++) {
            PyObject *x = PyLong_FromSsize_t(at2[e]);
            ok = x && PyList_Append(positions, x) == 0;
            Py_XDECREF(x);
        }
    }
    ok = ok && PyList_Sort(positions) == 0;
    Part *bp = &parts[bad];
    for (int b = 0; b < bp->count; b++) bit_of[b] = keysteps[bp->first + ord[b].idx].rank;
    PyObject *order = ok ? int_list(bit_of, bp->count) : NULL, *placed = ok ? replay(&search, init) : NULL;
    ok = ok && order && placed && PyDict_SetItemString(result, "order", order) == 0 &&
         PyDict_SetItemString(result, "placed", PyTuple_GET_ITEM(placed, 0)) == 0 &&
         PyDict_SetItemString(result, "placed_states", PyTuple_GET_ITEM(placed, 1)) == 0 &&
         PyDict_SetItemString(result, "key", bp->key) == 0;
    Py_XDECREF(order);
    Py_XDECREF(placed);
    ok = ok && (path = int_list(search.best_path, search.best_len)) != NULL;
    ok = ok && (states = PyList_New(search.nbest)) != NULL;
    for (int k = 0; ok && k < search.nbest; k++) {
        Py_INCREF(search.best_states[k]);
        PyList_SET_ITEM(states, k, search.best_states[k]);
    }
    ok = ok && PyDict_SetItemString(result, "failing_events", positions) == 0;
    PyObject *best_j = ok ? PyLong_FromLong(search.best_j) : NULL;
    ok = ok && best_j && PyDict_SetItemString(result, "best_j", best_j) == 0;
    Py_XDECREF(best_j);
    ok = ok && PyDict_SetItemString(result, "best_path", path) == 0;
    ok = ok && PyDict_SetItemString(result, "best_states", states) == 0;
    Py_XDECREF(positions); Py_XDECREF(path); Py_XDECREF(states);
    if (!ok) Py_CLEAR(result);
done:
    if (searching) search_free(&search);
    Py_XDECREF(keys);
    free(raw); free(steps); free(keysteps); free(parts); free(porder); free(pend);
    free(ord); free(by_start); free(bit_of);
    if (declined && !PyErr_Occurred()) {
        Py_XDECREF(result);
        Py_RETURN_NONE;
    }
    return result;
}

static PyMethodDef methods[] = {
    {"check", kv_check, METH_VARARGS,
     "check(history: list, init: str, drop_failed: bool, max_explored: int, deadline: float) -> dict | None\n\n"
     "The kv model's verdict and counts, or None when the Python pipeline must decide (deadline: on\n"
     "time.monotonic's clock, 0 for none)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "kv_native", NULL, -1, methods};

PyMODINIT_FUNC PyInit_kv_native(void)
{
    s_empty = PyUnicode_InternFromString("");
    if (!s_empty) return NULL;
    return PyModule_Create(&module);
}
