/* The C twins of the hot walks: over a raw batch's length prefixes (the hot loop of verify and of
 * every read for entries of mixed lengths), over frame headers (finding an id), and their
 * inverses for the bulk appends: encode_records and route_batches (below); clean_run, verify's walk
 * over sound frames with the CRC; and start_writeback, the one syscall Python's os lacks that the
 * async bulk append wants (sync_file_range).
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
#include <dlfcn.h>
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

/* encode_raw_batch(prefix_size, entries) -> the raw batch of `entries` (a sequence of buffers):
 * each entry's length as a `prefix_size`-byte little-endian prefix (the spec's entry length,
 * handed over by spec/codec.py), then its bytes. What spec/codec.py encode_raw_batch computes with
 * one join over (prefix, entry) pairs (~0.2 us per entry in Python); here the lengths are summed
 * once and each entry is copied once into the new bytes. An entry too long for its prefix raises
 * OverflowError (the Python twin's struct.error), a non-buffer TypeError. */
static PyObject *
encode_raw_batch(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "encode_raw_batch(prefix_size, entries) takes 2 arguments");
        return NULL;
    }
    Py_ssize_t prefix = PyLong_AsSsize_t(args[0]);
    if (prefix == -1 && PyErr_Occurred())
        return NULL;
    if (prefix < 1 || prefix > 8) {
        PyErr_SetString(PyExc_ValueError, "encode_raw_batch: prefix size 1..8");
        return NULL;
    }
    const uint64_t max_len = prefix == 8 ? UINT64_MAX : ((uint64_t)1 << (8 * prefix)) - 1;
    PyObject *seq = PySequence_Fast(args[1], "encode_raw_batch: entries must be a sequence");
    if (seq == NULL)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    PyObject **items = PySequence_Fast_ITEMS(seq);
    Py_ssize_t total = 0;
    int all_bytes = 1;
    for (Py_ssize_t i = 0; i < n; i++) { /* pass 1: the size (and whether every entry is bytes) */
        Py_ssize_t len;
        if (PyBytes_CheckExact(items[i])) {
            len = PyBytes_GET_SIZE(items[i]);
        } else {
            Py_buffer view;
            if (PyObject_GetBuffer(items[i], &view, PyBUF_SIMPLE) < 0) {
                Py_DECREF(seq);
                return NULL;
            }
            len = view.len;
            PyBuffer_Release(&view);
            all_bytes = 0;
        }
        if ((uint64_t)len > max_len) {
            Py_DECREF(seq);
            PyErr_SetString(PyExc_OverflowError, "encode_raw_batch: an entry too long for its length prefix");
            return NULL;
        }
        if (total > PY_SSIZE_T_MAX - prefix - len) {
            Py_DECREF(seq);
            PyErr_NoMemory();
            return NULL;
        }
        total += prefix + len;
    }
    PyObject *out = PyBytes_FromStringAndSize(NULL, total);
    if (out == NULL) {
        Py_DECREF(seq);
        return NULL;
    }
    char *w = PyBytes_AS_STRING(out), *stop = w + total;
    for (Py_ssize_t i = 0; i < n; i++) { /* pass 2: prefix, then bytes, per entry */
        const char *src;
        Py_ssize_t len;
        Py_buffer view;
        if (all_bytes || PyBytes_CheckExact(items[i])) {
            src = PyBytes_AS_STRING(items[i]);
            len = PyBytes_GET_SIZE(items[i]);
        } else {
            if (PyObject_GetBuffer(items[i], &view, PyBUF_SIMPLE) < 0)
                goto fail;
            src = (const char *)view.buf;
            len = view.len;
        }
        if (len > stop - w - prefix) { /* a buffer that grew since pass 1 (a bytearray) */
            if (!(all_bytes || PyBytes_CheckExact(items[i])))
                PyBuffer_Release(&view);
            PyErr_SetString(PyExc_RuntimeError, "encode_raw_batch: an entry changed size while encoded");
            goto fail;
        }
        for (Py_ssize_t k = 0; k < prefix; k++)
            *w++ = (char)(((uint64_t)len >> (8 * k)) & 0xFF);
        memcpy(w, src, (size_t)len);
        w += len;
        if (!(all_bytes || PyBytes_CheckExact(items[i])))
            PyBuffer_Release(&view);
    }
    Py_DECREF(seq);
    if (w != stop) { /* a buffer that shrank since pass 1 */
        Py_DECREF(out);
        PyErr_SetString(PyExc_RuntimeError, "encode_raw_batch: an entry changed size while encoded");
        return NULL;
    }
    return out;
fail:
    Py_DECREF(seq);
    Py_DECREF(out);
    return NULL;
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

/* What clean_run needs beyond the chain's fields (from the same layout, through configure): where crc
 * (L), frame_type (B) and uncompressed_size (L) lie, the reserved bytes' span, the CRC-covered span
 * of the header, and the raw frame type. */
struct check_layout {
    Py_ssize_t crc_at, type_at, uncompressed_at, reserved_at, reserved_end, covered_at, covered_end;
    unsigned long raw_type;
};
static struct check_layout CHECK;
static int check_configured = 0;

/* The process's CRC-32 (spec/crc.py chose it: ISA-L's crc32_gzip_refl, the function isal_zlib.crc32
 * calls, found by name in the library the isal package loaded): crc(init, buffer, length). */
typedef uint32_t (*crc_function)(uint32_t, const unsigned char *, uint64_t);
static crc_function CRC = NULL;

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

/* The (start, end) pair `name` of the layout dict into *start, *end: 0, or -1 with an exception. */
static int
span_of(PyObject *layout, const char *name, Py_ssize_t *start, Py_ssize_t *end)
{
    PyObject *item = PyDict_GetItemString(layout, name); /* borrowed */
    if (item == NULL) {
        PyErr_Format(PyExc_ValueError, "configure: the header layout has no %s", name);
        return -1;
    }
    return PyArg_ParseTuple(item, "nn", start, end) ? 0 : -1;
}

/* The check layout of clean_run from the header layout: 0, or -1 with an exception. */
static int
check_layout_of(PyObject *layout, PyObject *fields, Py_ssize_t header_size, struct check_layout *C)
{
    PyObject *raw = PyDict_GetItemString(layout, "raw_type"); /* borrowed */
    if ((C->crc_at = field_at(fields, "crc", "L")) < 0 || (C->type_at = field_at(fields, "frame_type", "B")) < 0 ||
        (C->uncompressed_at = field_at(fields, "uncompressed_size", "L")) < 0 ||
        span_of(layout, "reserved", &C->reserved_at, &C->reserved_end) < 0 ||
        span_of(layout, "crc_covered", &C->covered_at, &C->covered_end) < 0)
        return -1;
    if (raw == NULL || (C->raw_type = PyLong_AsUnsignedLong(raw)) == (unsigned long)-1) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "configure: the header layout has no raw_type");
        return -1;
    }
    if (C->crc_at + 4 > header_size || C->type_at >= header_size || C->uncompressed_at + 4 > header_size ||
        C->reserved_at < 0 || C->reserved_end < C->reserved_at || C->reserved_end > header_size ||
        C->covered_at < 0 || C->covered_end < C->covered_at || C->covered_end > header_size) {
        PyErr_SetString(PyExc_ValueError, "configure: check layout out of range");
        return -1;
    }
    return 0;
}

/* configure(chain_layout, entry_length_format, read_ahead, crc=None) -> whether clean_run can run,
 * every part taken by name: the spec's frame header layout ({"header_size", "frame_magic", "fields":
 * {name: (offset, format)}}, of which the walks read magic (L), start_id (Q), entry_count (L) and
 * disk_size (L); with "crc_covered", "reserved" ((start, end) each) and "raw_type", also crc (L),
 * frame_type (B) and uncompressed_size (L) for clean_run), the struct format of an entry's length
 * prefix, which must be "<L" (u32 little-endian, what length_at reads), the read-ahead rule (its
 * attributes first, most, grow, grow_after, shrink_after), and the CRC: (library path, symbol) of a
 * function with zlib's crc32 arguments in crc_function's order, or None to keep the one given before. */
static PyObject *
configure(PyObject *self, PyObject *args)
{
    struct layout L;
    struct read_ahead R;
    struct check_layout C;
    const char *entry_format;
    PyObject *layout, *fields, *value, *rule, *crc = Py_None;
    if (!PyArg_ParseTuple(args, "O!sO|O", &PyDict_Type, &layout, &entry_format, &rule, &crc))
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
    int check = PyDict_GetItemString(layout, "crc_covered") != NULL; /* a layout for the chain walk alone has none */
    if (check && check_layout_of(layout, fields, L.header_size, &C) < 0)
        return NULL;
    crc_function found = NULL;
    if (crc != Py_None) {
        const char *path, *symbol;
        if (!PyArg_ParseTuple(crc, "ss", &path, &symbol))
            return NULL;
        void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD); /* loaded already: the same copy */
        if (lib != NULL)
            found = (crc_function)dlsym(lib, symbol); /* the handle stays open: the pointer must live */
    }
    HEADER = L;
    READ_AHEAD = R;
    configured = 1;
    if (check) {
        CHECK = C;
        check_configured = 1;
    }
    if (crc != Py_None)
        CRC = found; /* without one, the CRC function configured before stays */
    return PyBool_FromLong(CRC != NULL && check_configured);
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

/* Whether a payload of `disk` bytes has the CRC `want` (continued from `sum`, the header's covered
 * bytes) and is exactly `count` length-prefixed entries. One pass: the CRC of a few KiB, then the
 * length prefixes that lie in them while they are still in the L1 cache. Walked as walk() walks,
 * but while every entry so far has the first one's length and `count` of that length fill the
 * payload exactly, the next prefix's place is known without reading this one (no chain of loads,
 * each one waiting on the last); the first other length goes on as walk() from there. */
enum { CHECK_CHUNK = 16 << 10 };

static inline int
payload_clean(const unsigned char *payload, uint64_t disk, uint64_t count, uint32_t sum, uint32_t want,
              crc_function crc)
{
    uint64_t pos = 0, walked = 0; /* the walk: invariant pos <= disk */
    uint64_t same = disk >= 4 ? length_at(payload, 0) : 0, stride = same + 4;
    int uniform = count > 0 && disk >= 4 && disk % stride == 0 && disk / stride == count;
    for (uint64_t done = 0; done < disk || walked < count;) {
        uint64_t n = disk - done < CHECK_CHUNK ? disk - done : CHECK_CHUNK;
        sum = crc(sum, payload + done, n);
        done += n;
        while (uniform && walked < count && pos + 4 <= done) { /* pos + stride <= disk: stride * count == disk */
            if (length_at(payload, pos) != same) {
                uniform = 0; /* walk on from this entry */
                break;
            }
            pos += stride;
            walked++;
        }
        while (!uniform && walked < count && disk - pos >= 4 && pos + 4 <= done) {
            uint64_t len = length_at(payload, pos);
            if (disk - pos - 4 < len)
                return 0; /* an entry runs past the end */
            pos += 4 + len;
            walked++;
        }
        if (done == disk && walked < count)
            return 0; /* fewer entries than the count */
    }
    return walked == count && pos == disk && sum == want;
}

/* clean_run(data, offset, expected, stop) -> (offset, expected, frames, entries): audit/clean_run.py
 * clean_run in C. From `offset`, walks the frames of the buffer verify finds nothing to say about, as
 * long as they start before `stop`: magic good, payload within the buffer, CRC good (the process's
 * CRC, configure), ids within u64 and each frame's first id `expected` (then its end), raw, its
 * uncompressed_size its disk_size, reserved bytes zero, and its payload exactly entry_count
 * length-prefixed entries. The offset returned is that of the first frame that is not such a frame
 * (or that starts at or past `stop`, or the end); frames and entries count those walked. Reads the
 * buffer in place with the GIL released: verify's threads check segments side by side. */
static PyObject *
clean_run(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (CRC == NULL || !check_configured) {
        PyErr_SetString(PyExc_RuntimeError, "clean_run: no CRC function or check layout configured (spec/native.py)");
        return NULL;
    }
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "clean_run(data, offset, expected, stop) takes 4 arguments");
        return NULL;
    }
    Py_ssize_t offset = PyLong_AsSsize_t(args[1]);
    if (offset == -1 && PyErr_Occurred())
        return NULL;
    unsigned long long expected = PyLong_AsUnsignedLongLong(args[2]);
    if (expected == (unsigned long long)-1 && PyErr_Occurred())
        return NULL;
    Py_ssize_t stop = PyLong_AsSsize_t(args[3]);
    if (stop == -1 && PyErr_Occurred())
        return NULL;
    Py_buffer view;
    if (PyObject_GetBuffer(args[0], &view, PyBUF_SIMPLE) < 0)
        return NULL;
    const struct layout L = HEADER;
    const struct check_layout C = CHECK;
    const crc_function crc = CRC;
    const unsigned char *p = (const unsigned char *)view.buf;
    const uint64_t size = (uint64_t)view.len, hs = (uint64_t)L.header_size;
    uint64_t pos = offset < 0 ? size : (uint64_t)offset, next = expected, frames = 0, entries = 0;
    uint64_t until = stop < 0 ? 0 : (uint64_t)stop;
    Py_BEGIN_ALLOW_THREADS
    while (pos < until && pos <= size && size - pos >= hs) {
        const unsigned char *h = p + pos;
        uint64_t first = u64_at(h, L.start_at), count = length_at(h, L.count_at), disk = length_at(h, L.size_at);
        if (length_at(h, L.magic_at) != L.magic || size - pos - hs < disk)
            break; /* not sound */
        if (first != next || (count > 0 && first > UINT64_MAX - count + 1))
            break; /* out of sequence, or ids past 2^64 - 1 */
        if (h[C.type_at] != C.raw_type || length_at(h, C.uncompressed_at) != disk)
            break;
        int reserved = 0;
        for (Py_ssize_t k = C.reserved_at; k < C.reserved_end; k++)
            reserved |= h[k];
        if (reserved)
            break;
        if (!payload_clean(h + hs, disk, count, crc(0, h + C.covered_at, (uint64_t)(C.covered_end - C.covered_at)),
                           (uint32_t)length_at(h, C.crc_at), crc))
            break;
        next = first + count;
        pos += hs + disk;
        frames++;
        entries += count;
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    return Py_BuildValue("(nKKK)", (Py_ssize_t)pos, next, (unsigned long long)frames, (unsigned long long)entries);
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

/* SipHash-1-3 with the zero key over len(key) as a little-endian u64, then the key: what Rust's
 * DefaultHasher::new() gives a &[u8] (sharded/routing.py key_hash, whose Python definition and the
 * siphash24 package's C agree with it; route_batches' property test holds this one to them). */
#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIP_ROUND                                                                                              \
    do {                                                                                                       \
        v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);                                            \
        v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                                                               \
        v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                                                               \
        v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);                                            \
    } while (0)

static uint64_t
key_hash(const unsigned char *key, uint64_t n)
{
    uint64_t v0 = 0x736f6d6570736575ULL, v1 = 0x646f72616e646f6dULL;
    uint64_t v2 = 0x6c7967656e657261ULL, v3 = 0x7465646279746573ULL;
    uint64_t m = n; /* the first word of the message: the key's length */
    v3 ^= m;
    SIP_ROUND;
    v0 ^= m;
    uint64_t i = 0;
    for (; n - i >= 8; i += 8) {
        m = u64_at(key, i);
        v3 ^= m;
        SIP_ROUND;
        v0 ^= m;
    }
    uint64_t b = ((n + 8) & 0xFF) << 56;
    for (uint64_t j = 0; i + j < n; j++)
        b |= (uint64_t)key[i + j] << (8 * j);
    v3 ^= b;
    SIP_ROUND;
    v0 ^= b;
    v2 ^= 0xFF;
    SIP_ROUND;
    SIP_ROUND;
    SIP_ROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

/* The first `sep` (of sep_len >= 1 bytes) in p[0..len), or NULL. */
static const unsigned char *
find_sep(const unsigned char *p, uint64_t len, const unsigned char *sep, uint64_t sep_len)
{
    if (sep_len == 1)
        return memchr(p, sep[0], (size_t)len);
    const unsigned char *end = p + len;
    while ((uint64_t)(end - p) >= sep_len) {
        const unsigned char *hit = memchr(p, sep[0], (size_t)(end - p - sep_len + 1));
        if (hit == NULL)
            return NULL;
        if (memcmp(hit, sep, (size_t)sep_len) == 0)
            return hit;
        p = hit + 1;
    }
    return NULL;
}

/* A shard's values as route_batches' hash pass gathers them (without the GIL, so in raw memory):
 * every value of the call, length-prefixed, one after the other, and where each full batch ends. */
struct shard_out {
    unsigned char *buf;
    size_t len, cap;
    size_t *ends; /* byte offset past each batch of `size` values */
    size_t n_ends, ends_cap;
    Py_ssize_t count; /* values so far */
};

enum { ROUTE_OK, ROUTE_SHORT, ROUTE_NO_SEP, ROUTE_NO_MEMORY };

/* Grow *p (of *cap elements of `unit` bytes) to hold at least `need`; 0, or -1 when out of memory. */
static int
grow(void **p, size_t *cap, size_t need, size_t unit)
{
    if (need <= *cap)
        return 0;
    size_t cap2 = 2 * *cap + need + 64;
    if (cap2 > SIZE_MAX / unit)
        return -1;
    void *grown = PyMem_RawRealloc(*p, cap2 * unit);
    if (grown == NULL)
        return -1;
    *p = grown;
    *cap = cap2;
    return 0;
}

/* The hash pass of route_batches, which touches no Python object (run without the GIL): each
 * record of views[0..nb) (counts[b] records each) gets its shard in routes[] (in input order) and
 * its value appended to its shard's slot; `order` lists the shards by first appearance. */
static int
route_pass(const Py_buffer *views, const Py_ssize_t *counts, Py_ssize_t nb, Py_ssize_t prefix,
           const unsigned char *sp, uint64_t sep_len, uint64_t shard_count, Py_ssize_t size,
           uint16_t *routes, size_t *n_routes, struct shard_out *slots, uint16_t *order, size_t *n_order)
{
    for (Py_ssize_t b = 0; b < nb; b++) {
        const unsigned char *p = (const unsigned char *)views[b].buf;
        uint64_t pos = 0, total = (uint64_t)views[b].len;
        for (Py_ssize_t i = 0; i < counts[b]; i++) {
            uint64_t n = 0;
            if (total - pos < (uint64_t)prefix)
                return ROUTE_SHORT;
            for (Py_ssize_t k = 0; k < prefix; k++)
                n |= (uint64_t)p[pos + k] << (8 * k);
            if (total - pos - prefix < n)
                return ROUTE_SHORT;
            const unsigned char *rec = p + pos + prefix, *hit = find_sep(rec, n, sp, sep_len);
            pos += prefix + n;
            if (hit == NULL)
                return ROUTE_NO_SEP;
            uint16_t s = (uint16_t)(key_hash(rec, (uint64_t)(hit - rec)) % shard_count);
            routes[(*n_routes)++] = s;
            struct shard_out *o = &slots[s];
            if (o->count == 0)
                order[(*n_order)++] = s;
            const unsigned char *value = hit + sep_len;
            size_t vlen = (size_t)(n - (uint64_t)(value - rec)); /* shorter than its record: fits the prefix */
            if (grow((void **)&o->buf, &o->cap, o->len + (size_t)prefix + vlen, 1) < 0)
                return ROUTE_NO_MEMORY;
            for (Py_ssize_t k = 0; k < prefix; k++)
                o->buf[o->len++] = (unsigned char)(((uint64_t)vlen >> (8 * k)) & 0xFF);
            memcpy(o->buf + o->len, value, vlen);
            o->len += vlen;
            if (++o->count % size == 0) {
                if (grow((void **)&o->ends, &o->ends_cap, o->n_ends + 1, sizeof *o->ends) < 0)
                    return ROUTE_NO_MEMORY;
                o->ends[o->n_ends++] = o->len;
            }
        }
    }
    return ROUTE_OK;
}

/* A shard's gathered values as the list of (payload, count) raw batches of at most `size` values. */
static PyObject *
shard_batches(const struct shard_out *o, Py_ssize_t size)
{
    PyObject *list = PyList_New(0);
    size_t from = 0;
    Py_ssize_t left = o->count;
    for (size_t j = 0; list != NULL && left > 0; j++) {
        size_t to = j < o->n_ends ? o->ends[j] : o->len;
        Py_ssize_t n = left < size ? left : size;
        PyObject *item = Py_BuildValue("(y#n)", (const char *)o->buf + from, (Py_ssize_t)(to - from), n);
        if (item == NULL || PyList_Append(list, item) < 0)
            Py_CLEAR(list);
        Py_XDECREF(item);
        from = to;
        left -= n;
    }
    return list;
}

/* route_batches(prefix_size, batches, sep, shard_count, size) -> (routes, {shard: [(payload, count)]})
 * or None when a record holds no `sep`: the KEY<sep>VALUE records of raw batches ((payload, count)
 * pairs, each record a length prefix of `prefix_size` bytes, the spec's entry length, then its bytes),
 * each record's shard (key_hash(key) % shard_count, as the crate routes) in input order, and each
 * shard's values as raw batches of at most `size` entries, shards in order of first appearance. What
 * sharded/routed_records.py route_batches computes in Python; here no Python object per record but
 * its shard number in `routes`. The hash pass (route_pass) runs without the GIL, so the read-ahead
 * thread cuts the next input meanwhile; the objects are built after it. A malformed batch is
 * reported where the Python twin meets it: after the records before it. */
static PyObject *
route_batches(PyObject *self, PyObject *args)
{
    Py_ssize_t prefix, size;
    PyObject *batches;
    Py_buffer sep;
    unsigned long long shard_count;
    if (!PyArg_ParseTuple(args, "nO!y*Kn", &prefix, &PyList_Type, &batches, &sep, &shard_count, &size))
        return NULL;
    PyObject *routes = NULL, *outs = NULL, *result = NULL, *err_type = NULL, *err_value = NULL, *err_tb = NULL;
    struct shard_out *slots = NULL; /* indexed by shard number, allocated for the shard count */
    Py_buffer *views = NULL;
    Py_ssize_t *counts = NULL, nb = 0;
    uint16_t *route_of = NULL, *order = NULL;
    size_t n_routes = 0, n_order = 0, cap = 0;
    if (prefix < 1 || prefix > 8 || size < 1 || sep.len < 1 || shard_count < 1 || shard_count > 0xFFFF) {
        PyErr_SetString(PyExc_ValueError,
                        "route_batches: prefix size 1..8, batch size >= 1, a separator, shard count 1..65535");
        goto done;
    }
    Py_ssize_t listed = PyList_GET_SIZE(batches);
    slots = PyMem_Calloc((size_t)shard_count, sizeof *slots);
    order = PyMem_Malloc((size_t)shard_count * sizeof *order);
    views = PyMem_Calloc((size_t)listed + 1, sizeof *views);
    counts = PyMem_Calloc((size_t)listed + 1, sizeof *counts);
    if (slots == NULL || order == NULL || views == NULL || counts == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    /* With the GIL: each batch's bytes and count, up to the first malformed one (its error kept) */
    for (; nb < listed; nb++) {
        PyObject *batch = PyList_GET_ITEM(batches, nb);
        if (!PyTuple_Check(batch) || PyTuple_GET_SIZE(batch) != 2) {
            PyErr_SetString(PyExc_TypeError, "route_batches: batches are (payload, count) pairs");
            break;
        }
        counts[nb] = PyLong_AsSsize_t(PyTuple_GET_ITEM(batch, 1));
        if (counts[nb] == -1 && PyErr_Occurred())
            break;
        if (PyObject_GetBuffer(PyTuple_GET_ITEM(batch, 0), &views[nb], PyBUF_SIMPLE) < 0)
            break;
        if (counts[nb] > 0) /* at most one record per prefix size of bytes: more is an error below */
            cap += (size_t)counts[nb] < (size_t)views[nb].len / (size_t)prefix
                       ? (size_t)counts[nb] : (size_t)views[nb].len / (size_t)prefix;
    }
    if (PyErr_Occurred())
        PyErr_Fetch(&err_type, &err_value, &err_tb);
    route_of = PyMem_RawMalloc((cap + 1) * sizeof *route_of);
    if (route_of == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    int state;
    Py_BEGIN_ALLOW_THREADS
    state = route_pass(views, counts, nb, prefix, (const unsigned char *)sep.buf, (uint64_t)sep.len,
                       (uint64_t)shard_count, size, route_of, &n_routes, slots, order, &n_order);
    Py_END_ALLOW_THREADS
    if (state == ROUTE_SHORT) {
        PyErr_SetString(PyExc_ValueError, "route_batches: a batch holds fewer records than its count");
        goto done;
    }
    if (state == ROUTE_NO_MEMORY) {
        PyErr_NoMemory();
        goto done;
    }
    if (state == ROUTE_NO_SEP) {
        Py_INCREF(Py_None);
        result = Py_None;
        goto done;
    }
    if (err_type != NULL) { /* the records before the malformed batch were sound: now its error */
        PyErr_Restore(err_type, err_value, err_tb);
        err_type = err_value = err_tb = NULL;
        goto done;
    }
    /* With the GIL again: the objects */
    routes = PyList_New((Py_ssize_t)n_routes);
    outs = PyDict_New();
    if (routes == NULL || outs == NULL)
        goto done;
    for (size_t i = 0; i < n_routes; i++) {
        PyObject *shard = PyLong_FromLong(route_of[i]);
        if (shard == NULL)
            goto done;
        PyList_SET_ITEM(routes, (Py_ssize_t)i, shard);
    }
    for (size_t j = 0; j < n_order; j++) {
        PyObject *shard = PyLong_FromLong(order[j]), *list = shard_batches(&slots[order[j]], size);
        int failed = shard == NULL || list == NULL || PyDict_SetItem(outs, shard, list) < 0;
        Py_XDECREF(shard);
        Py_XDECREF(list); /* outs holds it (or, on a failure, nothing does) */
        if (failed)
            goto done;
    }
    result = Py_BuildValue("(OO)", routes, outs);
done:
    Py_XDECREF(err_type);
    Py_XDECREF(err_value);
    Py_XDECREF(err_tb);
    if (slots != NULL)
        for (unsigned long long s = 0; s < shard_count; s++) {
            PyMem_RawFree(slots[s].buf);
            PyMem_RawFree(slots[s].ends);
        }
    if (views != NULL)
        for (Py_ssize_t b = 0; b < nb; b++)
            PyBuffer_Release(&views[b]);
    PyMem_Free(slots);
    PyMem_Free(order);
    PyMem_Free(views);
    PyMem_Free(counts);
    PyMem_RawFree(route_of);
    Py_XDECREF(routes);
    Py_XDECREF(outs);
    PyBuffer_Release(&sep);
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
    {"route_batches", route_batches, METH_VARARGS,
     "route_batches(prefix_size, batches, sep, shard_count, size): KEY<sep>VALUE records by shard (_walk.c)."},
    {"encode_records", encode_records, METH_VARARGS,
     "encode_records(prefix_size, data, sep, first, size): sep-terminated records as raw batches (see _walk.c)."},
    {"configure", configure, METH_VARARGS,
     "configure(chain_layout, entry_length_format, read_ahead, crc=None): the spec's layouts (by field name), the "
     "header walk's read-ahead rule and the CRC function, given once (spec/native.py)."},
    {"chain", (PyCFunction)(void (*)(void))chain, METH_VARARGS | METH_KEYWORDS,
     "chain(data, offset, expected, stop_id, max_frames, *, fd=None): walk frames in sequence (see _walk.c)."},
    {"clean_run", (PyCFunction)(void (*)(void))clean_run, METH_FASTCALL,
     "clean_run(data, offset, expected, stop): walk the frames verify finds sound, CRC checked (see _walk.c)."},
    {"batch_end", (PyCFunction)(void (*)(void))batch_end, METH_FASTCALL,
     "batch_end(buffer, count): offset past count length-prefixed entries, or -1 if they run past the end."},
    {"batch_fits", (PyCFunction)(void (*)(void))batch_fits, METH_FASTCALL,
     "batch_fits(buffer, count): whether buffer is exactly count length-prefixed entries."},
    {"encode_raw_batch", (PyCFunction)(void (*)(void))encode_raw_batch, METH_FASTCALL,
     "encode_raw_batch(prefix_size, entries): the raw batch (length prefix, then bytes, per entry)."},
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
