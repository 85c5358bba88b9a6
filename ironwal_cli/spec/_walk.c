/* The C twins of the hot walks: over a raw batch's length prefixes (the hot loop of verify and of
 * every read for entries of mixed lengths), over frame headers (finding an id), and their
 * inverses for the bulk appends: encode_records and route_records (below); and start_writeback,
 * the one syscall Python's os lacks that the async bulk append wants (sync_file_range).
 *
 * Each function here has the name and arguments of a Python function that computes the same
 * answers (spec/native.py c_twin puts this one in its place at import when the module is built;
 * a property test per pair holds them equal). The layouts are the spec's, never written down
 * here: spec/native.py hands them over once (configure) before any walk runs.
 *
 * batch_end(buffer, count) -> the offset just past `count` length-prefixed entries, or -1 when a
 * length prefix or an entry runs past the end of the buffer (spec/walk.py batch_end). Each step
 * depends on the one before, so in Python it costs ~0.1 us per entry; here a few ns.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

/* The u32 little-endian length prefix at p[pos..pos+4): configure() checks the spec says so. */
static inline uint64_t
length_at(const unsigned char *p, uint64_t pos)
{
    return (uint64_t)p[pos] | (uint64_t)p[pos + 1] << 8 | (uint64_t)p[pos + 2] << 16 | (uint64_t)p[pos + 3] << 24;
}

/* Walks `count` entries from the start of p[0..size): how many it could walk whole (`count` when
 * all of them), with *end just past the last one walked. Offsets are checked before they are read. */
static Py_ssize_t
walk(const unsigned char *p, uint64_t size, Py_ssize_t count, uint64_t *end)
{
    uint64_t pos = 0; /* invariant: pos <= size */
    Py_ssize_t i = 0;
    for (; i < count; i++) {
        if (size - pos < 4)
            break;
        uint64_t n = length_at(p, pos);
        if (size - pos - 4 < n)
            break;
        pos += 4 + n;
    }
    *end = pos;
    return i;
}

/* The (buffer, count) arguments of both functions; -1 with an exception set when they are wrong. */
static int
parse_args(PyObject *const *args, Py_ssize_t nargs, const char *name, Py_buffer *view, Py_ssize_t *count)
{
    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError, "%s(buffer, count) takes 2 arguments", name);
        return -1;
    }
    *count = PyLong_AsSsize_t(args[1]);
    if (*count == -1 && PyErr_Occurred())
        return -1;
    return PyObject_GetBuffer(args[0], view, PyBUF_SIMPLE);
}

/* The end of the walk of (buffer, count): the offset past the last entry walked whole, or -1 when
 * fewer than `count` were; *size the buffer's length. -2 with an exception set when the arguments
 * are wrong. */
static long long
walk_args(PyObject *const *args, Py_ssize_t nargs, const char *name, uint64_t *size)
{
    Py_buffer view;
    Py_ssize_t count;
    if (parse_args(args, nargs, name, &view, &count) < 0)
        return -2;
    uint64_t pos;
    Py_ssize_t walked = walk((const unsigned char *)view.buf, (uint64_t)view.len, count, &pos);
    *size = (uint64_t)view.len;
    PyBuffer_Release(&view);
    return count >= 0 && walked == count ? (long long)pos : -1LL;
}

static PyObject *
batch_end(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    uint64_t size;
    long long end = walk_args(args, nargs, "batch_end", &size);
    return end == -2 ? NULL : PyLong_FromLongLong(end);
}

/* batch_fits(buffer, count) -> whether the buffer is exactly `count` length-prefixed entries
 * (spec/walk.py batch_fits): one walk, quickest in C for every batch. */
static PyObject *
batch_fits(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    uint64_t size;
    long long end = walk_args(args, nargs, "batch_fits", &size);
    return end == -2 ? NULL : PyBool_FromLong(end >= 0 && (uint64_t)end == size);
}

/* split(buffer, count) -> the `count` entries as a list of bytes, or None unless they fill the
 * buffer exactly: what spec/codec.py split computes, for every read of a batch of mixed
 * lengths (a Python slice per entry costs ~0.3 us; here the bytes objects are made directly).
 * The lengths are walked once first, so a bad batch builds nothing. */
static PyObject *
split(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    Py_buffer view;
    Py_ssize_t count;
    if (parse_args(args, nargs, "split", &view, &count) < 0)
        return NULL;
    const unsigned char *p = (const unsigned char *)view.buf;
    uint64_t pos;
    if (count < 0 || walk(p, (uint64_t)view.len, count, &pos) != count || pos != (uint64_t)view.len) {
        PyBuffer_Release(&view);
        Py_RETURN_NONE;
    }
    PyObject *list = PyList_New(count);
    if (list == NULL) {
        PyBuffer_Release(&view);
        return NULL;
    }
    pos = 0;
    for (Py_ssize_t i = 0; i < count; i++) {
        uint64_t n = length_at(p, pos);
        PyObject *entry = PyBytes_FromStringAndSize((const char *)p + pos + 4, (Py_ssize_t)n);
        if (entry == NULL) {
            Py_DECREF(list);
            PyBuffer_Release(&view);
            return NULL;
        }
        PyList_SET_ITEM(list, i, entry);
        pos += 4 + n;
    }
    PyBuffer_Release(&view);
    return list;
}

/* The little-endian u64 at p[pos..pos+8). */
static inline uint64_t
u64_at(const unsigned char *p, uint64_t pos)
{
    return length_at(p, pos) | length_at(p, pos + 4) << 32;
}

/* The frame header's layout, as the spec gives it by field name (codec.CHAIN_LAYOUT, through configure). */
struct layout {
    Py_ssize_t header_size, magic_at, start_at, count_at, size_at;
    unsigned long magic;
};
static struct layout HEADER;

/* The header walk's read-ahead rule, as spec/read_ahead.py gives it (READ_AHEAD, through
 * configure): reads start at `first` bytes, grow `grow` times (up to `most`) after a block of at
 * least `grow_after` frames, fall back to `first` after one of at most `shrink_after`. */
struct read_ahead {
    Py_ssize_t first, most, grow, grow_after, shrink_after;
};
static struct read_ahead READ_AHEAD;
static int configured = 0;

/* The offset of the frame header field `name` in `fields` (the spec's {name: (offset, struct format)}),
 * which must have the format `want` (what the walk reads there): -1 with an exception otherwise. */
static Py_ssize_t
field_at(PyObject *fields, const char *name, const char *want)
{
    PyObject *item = PyDict_GetItemString(fields, name); /* borrowed */
    Py_ssize_t offset;
    const char *format;
    if (item == NULL) {
        PyErr_Format(PyExc_ValueError, "configure: the header layout has no field %s", name);
        return -1;
    }
    if (!PyArg_ParseTuple(item, "ns", &offset, &format))
        return -1;
    if (strcmp(format, want) != 0) {
        PyErr_Format(PyExc_ValueError, "configure: header field %s is %s, the C walk reads %s", name, format, want);
        return -1;
    }
    if (offset < 0) {
        PyErr_SetString(PyExc_ValueError, "configure: header layout out of range");
        return -1;
    }
    return offset;
}

/* The read-ahead rule's number `name` (an attribute of read_ahead.READ_AHEAD) into *n: 0, or -1 with an exception. */
static int
rule_of(PyObject *rule, const char *name, Py_ssize_t *n)
{
    PyObject *value = PyObject_GetAttrString(rule, name);
    if (value == NULL)
        return -1;
    *n = PyLong_AsSsize_t(value);
    Py_DECREF(value);
    return *n == -1 && PyErr_Occurred() ? -1 : 0;
}

/* configure(chain_layout, entry_length_format, read_ahead), every part taken by name: the spec's
 * frame header layout ({"header_size", "frame_magic", "fields": {name: (offset, format)}}, of
 * which the walk reads magic (L), start_id (Q), entry_count (L) and disk_size (L)), the struct
 * format of an entry's length prefix, which must be "<L" (u32 little-endian, what length_at
 * reads), and the read-ahead rule (its attributes first, most, grow, grow_after, shrink_after). */
static PyObject *
configure(PyObject *self, PyObject *args)
{
    struct layout L;
    struct read_ahead R;
    const char *entry_format;
    PyObject *layout, *fields, *value, *rule;
    if (!PyArg_ParseTuple(args, "O!sO", &PyDict_Type, &layout, &entry_format, &rule))
        return NULL;
    fields = PyDict_GetItemString(layout, "fields");
    if (fields == NULL || !PyDict_Check(fields)) {
        PyErr_SetString(PyExc_ValueError, "configure: the header layout has no fields");
        return NULL;
    }
    if ((value = PyDict_GetItemString(layout, "header_size")) == NULL ||
        (L.header_size = PyLong_AsSsize_t(value)) == -1 ||
        (value = PyDict_GetItemString(layout, "frame_magic")) == NULL ||
        (L.magic = PyLong_AsUnsignedLong(value)) == (unsigned long)-1) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "configure: the header layout needs header_size and frame_magic");
        return NULL;
    }
    if ((L.magic_at = field_at(fields, "magic", "L")) < 0 || (L.start_at = field_at(fields, "start_id", "Q")) < 0 ||
        (L.count_at = field_at(fields, "entry_count", "L")) < 0 || (L.size_at = field_at(fields, "disk_size", "L")) < 0)
        return NULL;
    if (rule_of(rule, "first", &R.first) < 0 || rule_of(rule, "most", &R.most) < 0 || rule_of(rule, "grow", &R.grow) < 0 ||
        rule_of(rule, "grow_after", &R.grow_after) < 0 || rule_of(rule, "shrink_after", &R.shrink_after) < 0)
        return NULL;
    if (strcmp(entry_format, "<L") != 0) {
        PyErr_Format(PyExc_ValueError, "configure: entry length format %s, the C walks read <L only", entry_format);
        return NULL;
    }
    if (L.header_size <= 0 || L.header_size > 512 || L.magic_at < 0 || L.start_at < 0 || L.count_at < 0 ||
        L.size_at < 0 || L.magic_at + 4 > L.header_size || L.start_at + 8 > L.header_size ||
        L.count_at + 4 > L.header_size || L.size_at + 4 > L.header_size) {
        PyErr_SetString(PyExc_ValueError, "configure: header layout out of range");
        return NULL;
    }
    if (R.first < L.header_size || R.most < R.first || R.most > (64 << 20) || R.grow < 1) {
        PyErr_SetString(PyExc_ValueError, "configure: read-ahead out of range (header size <= first <= most <= 64 MiB)");
        return NULL;
    }
    HEADER = L;
    READ_AHEAD = R;
    configured = 1;
    Py_RETURN_NONE;
}

enum { MORE = 0, FOUND = 1, GAP = 2, END = 3, GO_ON = -1 };

/* One step of a chain walk: the header at h, of the frame at file offset *pos in a file of `size`
 * bytes. GO_ON with *pos and *expected moved past the frame, or why the walk stops at it. */
static inline int
chain_step(const unsigned char *h, const struct layout *L, uint64_t size, uint64_t *pos, uint64_t *expected,
           uint64_t stop_id, Py_ssize_t frames, Py_ssize_t max_frames)
{
    uint64_t first = u64_at(h, L->start_at);
    uint64_t count = length_at(h, L->count_at);
    uint64_t disk = length_at(h, L->size_at);
    if (length_at(h, L->magic_at) != L->magic || size - *pos - L->header_size < disk)
        return END; /* not sound */
    if (count > 0 && first > UINT64_MAX - count + 1)
        return END; /* ids past 2^64 - 1: not sound either (engine/frames/scan.py ID_OVERFLOW) */
    if (first != *expected)
        return GAP;
    if (frames == max_frames)
        return MORE;
    if (count > stop_id || first > stop_id - count) /* first + count > stop_id, without overflow */
        return FOUND;
    *expected = first + count;
    *pos += L->header_size + disk;
    return GO_ON;
}

/* The one header walk in C, over `size` bytes: those of `buf` (a buffer the caller holds), or, when
 * `fd` >= 0 (and `buf` NULL), those of that descriptor's file, read with pread instead of a memory
 * map in blocks that grow over small frames and shrink back over big ones (the rule of
 * spec/read_ahead.py, as engine/frames/scan.py headers reads): touching every header of a fresh map
 * would fault in (and keep in RSS) a page per frame far apart. A buffer is one block that holds
 * everything, so it is never read again. Bounds are checked against `size` (for a file, the size
 * the caller mapped); a file cut shorter since ends the walk like the end of the file. */
static PyObject *
chain_walk(const unsigned char *buf, int fd, uint64_t size, Py_ssize_t offset, unsigned long long expected,
           unsigned long long stop_id, Py_ssize_t max_frames)
{
    const struct layout L = HEADER;         /* configure() keeps header_size within R.first */
    const struct read_ahead R = READ_AHEAD;
    unsigned char *block = NULL;
    uint64_t block_at = 0, block_len = size; /* a buffer: one block, all of it */
    if (fd >= 0) {
        block = PyMem_Malloc((size_t)R.most);
        if (block == NULL)
            return PyErr_NoMemory();
        buf = block;
        block_len = 0;
    }
    uint64_t pos = offset < 0 ? size : (uint64_t)offset, next = expected;
    Py_ssize_t read_size = R.first, in_block = 0, frames = 0;
    int why = END, failed = 0;
    PyThreadState *released = fd >= 0 ? PyEval_SaveThread() : NULL; /* a pread walk lets others run */
    while (pos <= size && size - pos >= (uint64_t)L.header_size) {
        if (pos < block_at || pos - block_at + L.header_size > block_len) { /* with fd only */
            if (in_block >= R.grow_after) /* small frames: fewer, larger reads */
                read_size = read_size > R.most / R.grow ? R.most : read_size * R.grow;
            else if (in_block <= R.shrink_after) /* big frames: a header's worth per read again */
                read_size = R.first;
            ssize_t got = pread(fd, block, (size_t)read_size, (off_t)pos);
            if (got < 0) {
                failed = errno;
                break;
            }
            block_at = pos;
            block_len = (uint64_t)got;
            in_block = 0;
            if (block_len < (uint64_t)L.header_size)
                break; /* the file is shorter than it was mapped: END */
        }
        in_block++;
        why = chain_step(buf + (pos - block_at), &L, size, &pos, &next, stop_id, frames, max_frames);
        if (why != GO_ON)
            break;
        frames++;
        why = END;
    }
    if (released != NULL)
        PyEval_RestoreThread(released);
    PyMem_Free(block);
    if (failed) {
        errno = failed;
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    return Py_BuildValue("(nKni)", (Py_ssize_t)pos, (unsigned long long)next, frames, why);
}

/* chain(buffer, offset, expected, stop_id, max_frames, *, fd=None) -> (offset, expected, frames, why):
 * the header walk of engine/frames/scan.py chain, in C. From `offset`, walks frames whose magic
 * and bounds are good and whose start id is `expected`, and stops at the first frame that is
 * not sound or lies past the end (why 3: END), starts at another id (2: GAP), ends above
 * `stop_id` (1: FOUND) or comes after `max_frames` frames (0: MORE); the offset returned is that
 * frame's (or the end). With `fd` (a descriptor of the file `buffer` maps) the headers are read
 * with pread instead, up to the buffer's length (chain_walk above). */
static PyObject *
chain(PyObject *self, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"data", "offset", "expected", "stop_id", "max_frames", "fd", NULL};
    Py_buffer view;
    Py_ssize_t offset, max_frames;
    unsigned long long expected, stop_id;
    PyObject *fd_arg = Py_None;
    if (!configured) {
        PyErr_SetString(PyExc_RuntimeError, "chain: the header layout was not configured (spec/native.py)");
        return NULL;
    }
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "y*nKKn|$O", keywords, &view, &offset, &expected, &stop_id,
                                     &max_frames, &fd_arg))
        return NULL;
    if (fd_arg != Py_None) {
        int fd = PyObject_AsFileDescriptor(fd_arg);
        Py_ssize_t size = view.len;
        PyBuffer_Release(&view);
        if (fd < 0)
            return NULL;
        return chain_walk(NULL, fd, size < 0 ? 0 : (uint64_t)size, offset, expected, stop_id, max_frames);
    }
    PyObject *result = chain_walk((const unsigned char *)view.buf, -1, (uint64_t)view.len, offset, expected, stop_id,
                                  max_frames);
    PyBuffer_Release(&view);
    return result;
}

/* encode_records(prefix_size, data, sep, first, size) -> ([(payload, count), ...], consumed): every
 * `sep`-terminated record of `data` as raw batches (each record: its length as a `prefix_size`-byte
 * little-endian prefix, the spec's entry length (codec.ENTRY_LENGTH), then its bytes, the
 * separator dropped); the first batch holds at most `first` records, the others at most `size`.
 * `consumed` is the offset just past the last separator (the unterminated rest is the caller's).
 * What spec/records.py encode_records computes in Python (split, then encode_raw_batch); here no
 * Python object per record: memchr finds them, memcpy copies them into each batch's bytes. */
#define ENCODE_ENDS 4096 /* record ends pass 1 keeps for pass 2 (the rest are found again) */

static PyObject *
encode_records(PyObject *self, PyObject *args)
{
    Py_buffer view;
    Py_ssize_t prefix, first, size;
    char sep;
    if (!PyArg_ParseTuple(args, "ny*cnn", &prefix, &view, &sep, &first, &size))
        return NULL;
    if (prefix < 1 || prefix > 8 || first < 1 || size < 1) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "encode_records: prefix size 1..8, batch sizes >= 1");
        return NULL;
    }
    const uint64_t max_len = prefix == 8 ? UINT64_MAX : ((uint64_t)1 << (8 * prefix)) - 1;
    const char *p = (const char *)view.buf, *end = p + view.len, *at = p;
    PyObject *out = PyList_New(0);
    if (out == NULL) {
        PyBuffer_Release(&view);
        return NULL;
    }
    Py_ssize_t take = first;
    const char *ends[ENCODE_ENDS]; /* where the first records of a batch end, found once by pass 1 */
    for (;;) {
        /* pass 1: how many records the batch takes, and how far they reach. Without the GIL (here
         * and in pass 2): the bulk append reads in a thread of its own while another writes. */
        const char *q = at;
        Py_ssize_t n = 0;
        int too_long = 0;
        Py_BEGIN_ALLOW_THREADS
        while (n < take) {
            const char *hit = memchr(q, sep, (size_t)(end - q));
            if (hit == NULL)
                break;
            if ((uint64_t)(hit - q) > max_len) {
                too_long = 1;
                break;
            }
            if (n < ENCODE_ENDS)
                ends[n] = hit;
            q = hit + 1;
            n++;
        }
        Py_END_ALLOW_THREADS
        if (too_long) {
            PyErr_SetString(PyExc_OverflowError, "encode_records: a record too long for its length prefix");
            goto fail;
        }
        if (n == 0)
            break;
        /* pass 2: the batch's bytes (the span, less n separators, plus n prefixes) */
        PyObject *payload = PyBytes_FromStringAndSize(NULL, (q - at) - n + n * prefix);
        if (payload == NULL)
            goto fail;
        char *w = PyBytes_AS_STRING(payload);
        Py_BEGIN_ALLOW_THREADS /* the new bytes object is no one else's yet */
        for (Py_ssize_t i = 0; i < n; i++) {
            const char *hit = i < ENCODE_ENDS ? ends[i] : memchr(at, sep, (size_t)(q - at));
            uint64_t len = (uint64_t)(hit - at);
            for (Py_ssize_t k = 0; k < prefix; k++)
                *w++ = (char)((len >> (8 * k)) & 0xFF);
            memcpy(w, at, (size_t)len);
            w += len;
            at = hit + 1;
        }
        Py_END_ALLOW_THREADS
        PyObject *item = Py_BuildValue("(Nn)", payload, n);
        if (item == NULL || PyList_Append(out, item) < 0) {
            Py_XDECREF(item);
            goto fail;
        }
        Py_DECREF(item);
        take = size;
    }
    PyBuffer_Release(&view);
    return Py_BuildValue("(Nn)", out, (Py_ssize_t)(at - p));
fail:
    Py_DECREF(out);
    PyBuffer_Release(&view);
    return NULL;
}

/* A shard's batches being built by route_records: finished (payload, count) tuples, and the
 * current batch's bytes. */
struct shard_out {
    PyObject *batches; /* list */
    char *buf;
    Py_ssize_t len, cap, count;
};

static int
finish_batch(struct shard_out *o)
{
    PyObject *item = Py_BuildValue("(y#n)", o->buf, o->len, o->count);
    if (item == NULL || PyList_Append(o->batches, item) < 0) {
        Py_XDECREF(item);
        return -1;
    }
    Py_DECREF(item);
    o->len = o->count = 0;
    return 0;
}

/* route_records(prefix_size, cache_keys, records, sep, shard_of, route, size) -> (routes, {shard:
 * [(payload, count)]}) or None when a record holds no `sep`: each KEY<sep>VALUE record's shard
 * (shard_of[key], else route(key), remembered in shard_of, which is emptied first when it holds
 * `cache_keys` keys), in input order, and each
 * shard's values as raw batches of at most `size` entries (length prefix of `prefix_size` bytes,
 * the spec's entry length, then the bytes). What ops/sharded_append.py route_records computes in
 * Python; here no Python object per record but its key. */
static PyObject *
route_records(PyObject *self, PyObject *args)
{
    Py_ssize_t prefix, cache_keys, size;
    PyObject *records, *shard_of, *route;
    char sep;
    if (!PyArg_ParseTuple(args, "nnO!cO!On", &prefix, &cache_keys, &PyList_Type, &records, &sep, &PyDict_Type,
                          &shard_of, &route, &size))
        return NULL;
    if (prefix < 1 || prefix > 8 || size < 1) {
        PyErr_SetString(PyExc_ValueError, "route_records: prefix size 1..8, batch size >= 1");
        return NULL;
    }
    const uint64_t max_len = prefix == 8 ? UINT64_MAX : ((uint64_t)1 << (8 * prefix)) - 1;
    Py_ssize_t n = PyList_GET_SIZE(records);
    PyObject *routes = PyList_New(n), *outs = PyDict_New(), *result = NULL;
    struct shard_out *slots = NULL; /* indexed by shard number, grown as shards appear */
    Py_ssize_t nslots = 0;
    if (routes == NULL || outs == NULL)
        goto done;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *rec = PyList_GET_ITEM(records, i);
        if (!PyBytes_Check(rec)) {
            PyErr_SetString(PyExc_TypeError, "route_records: records are bytes");
            goto done;
        }
        const char *p = PyBytes_AS_STRING(rec);
        Py_ssize_t len = PyBytes_GET_SIZE(rec);
        const char *hit = memchr(p, sep, (size_t)len);
        if (hit == NULL) {
            Py_INCREF(Py_None);
            result = Py_None;
            goto done;
        }
        PyObject *key = PyBytes_FromStringAndSize(p, hit - p);
        if (key == NULL)
            goto done;
        PyObject *shard = PyDict_GetItemWithError(shard_of, key); /* borrowed */
        if (shard != NULL) {
            Py_INCREF(shard);
        } else if (PyErr_Occurred()) {
            Py_DECREF(key);
            goto done;
        } else {
            if (PyDict_Size(shard_of) >= cache_keys)
                PyDict_Clear(shard_of);
            shard = PyObject_CallOneArg(route, key);
            if (shard == NULL || PyDict_SetItem(shard_of, key, shard) < 0) {
                Py_XDECREF(shard);
                Py_DECREF(key);
                goto done;
            }
        }
        Py_DECREF(key);
        Py_ssize_t s = PyLong_AsSsize_t(shard);
        PyList_SET_ITEM(routes, i, shard); /* the reference goes to the list */
        if (s < 0) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_ValueError, "route_records: a shard number is >= 0");
            goto done;
        }
        if (s >= nslots) {
            Py_ssize_t grow = s + 1 > 2 * nslots ? s + 1 : 2 * nslots;
            struct shard_out *more = PyMem_Realloc(slots, (size_t)grow * sizeof *slots);
            if (more == NULL) {
                PyErr_NoMemory();
                goto done;
            }
            memset(more + nslots, 0, (size_t)(grow - nslots) * sizeof *slots);
            slots = more;
            nslots = grow;
        }
        struct shard_out *o = &slots[s];
        if (o->batches == NULL) {
            o->batches = PyList_New(0);
            if (o->batches == NULL || PyDict_SetItem(outs, shard, o->batches) < 0)
                goto done;
            Py_DECREF(o->batches); /* outs holds it */
        }
        uint64_t vlen = (uint64_t)(len - (hit + 1 - p));
        if (vlen > max_len) {
            PyErr_SetString(PyExc_OverflowError, "route_records: a value too long for its length prefix");
            goto done;
        }
        if (o->len + prefix + (Py_ssize_t)vlen > o->cap) {
            Py_ssize_t cap = 2 * o->cap + prefix + (Py_ssize_t)vlen + 4096;
            char *buf = PyMem_Realloc(o->buf, (size_t)cap);
            if (buf == NULL) {
                PyErr_NoMemory();
                goto done;
            }
            o->buf = buf;
            o->cap = cap;
        }
        for (Py_ssize_t k = 0; k < prefix; k++)
            o->buf[o->len++] = (char)((vlen >> (8 * k)) & 0xFF);
        memcpy(o->buf + o->len, hit + 1, (size_t)vlen);
        o->len += (Py_ssize_t)vlen;
        if (++o->count == size && finish_batch(o) < 0)
            goto done;
    }
    for (Py_ssize_t s = 0; s < nslots; s++)
        if (slots[s].batches != NULL && slots[s].count > 0 && finish_batch(&slots[s]) < 0)
            goto done;
    result = Py_BuildValue("(OO)", routes, outs);
done:
    for (Py_ssize_t s = 0; s < nslots; s++)
        PyMem_Free(slots[s].buf);
    PyMem_Free(slots);
    if (routes != NULL) {
        /* entries past a failure are still NULL: a list may hold NULLs only while it is being built */
        for (Py_ssize_t i = 0; i < n; i++)
            if (PyList_GET_ITEM(routes, i) == NULL)
                PyList_SET_ITEM(routes, i, Py_NewRef(Py_None));
        Py_DECREF(routes);
    }
    Py_XDECREF(outs);
    return result;
}

/* start_writeback(fd, offset, length) -> None: ask the kernel to start writing that range of the
 * file back to the disk, without waiting for it (sync_file_range, SYNC_FILE_RANGE_WRITE), so a later
 * fdatasync has little left to wait for. A hint: it makes nothing durable, and whatever the kernel
 * says (an fd that is no file, a range it will not take) it says nothing, as the Python twin, which
 * does nothing (engine/store/files.py start_writeback). Without the GIL: it may wait for the queue. */
static PyObject *
start_writeback(PyObject *self, PyObject *args)
{
    int fd;
    long long offset, length;
    if (!PyArg_ParseTuple(args, "iLL", &fd, &offset, &length))
        return NULL;
#ifdef SYNC_FILE_RANGE_WRITE
    if (fd >= 0 && offset >= 0 && length > 0) {
        int saved = errno;
        Py_BEGIN_ALLOW_THREADS
        (void)sync_file_range(fd, (off_t)offset, (off_t)length, SYNC_FILE_RANGE_WRITE);
        Py_END_ALLOW_THREADS
        errno = saved;
    }
#endif
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"start_writeback", start_writeback, METH_VARARGS,
     "start_writeback(fd, offset, length): start writing that range back to the disk; no wait, no error."},
    {"route_records", route_records, METH_VARARGS,
     "route_records(prefix_size, cache_keys, records, sep, shard_of, route, size): records by shard (_walk.c)."},
    {"encode_records", encode_records, METH_VARARGS,
     "encode_records(prefix_size, data, sep, first, size): sep-terminated records as raw batches (see _walk.c)."},
    {"configure", configure, METH_VARARGS,
     "configure(chain_layout, entry_length_format, read_ahead): the spec's layouts (by field name) and the header walk's "
     "read-ahead rule, given once (spec/native.py)."},
    {"chain", (PyCFunction)(void (*)(void))chain, METH_VARARGS | METH_KEYWORDS,
     "chain(data, offset, expected, stop_id, max_frames, *, fd=None): walk frames in sequence (see _walk.c)."},
    {"batch_end", (PyCFunction)(void (*)(void))batch_end, METH_FASTCALL,
     "batch_end(buffer, count): offset past count length-prefixed entries, or -1 if they run past the end."},
    {"batch_fits", (PyCFunction)(void (*)(void))batch_fits, METH_FASTCALL,
     "batch_fits(buffer, count): whether buffer is exactly count length-prefixed entries."},
    {"split", (PyCFunction)(void (*)(void))split, METH_FASTCALL,
     "split(buffer, count): the count u32-LE-length-prefixed entries as bytes, or None unless they fill it."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_walk", NULL, -1, methods};

PyMODINIT_FUNC
PyInit__walk(void)
{
    return PyModule_Create(&module);
}
