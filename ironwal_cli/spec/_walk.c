/* The C twins of the hot walks: over a raw batch's length prefixes (the hot loop of verify and of
 * every read for entries of mixed lengths) and over frame headers (finding an id).
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
 * buffer exactly: what spec/codec.py _split_python computes, for every read of a batch of mixed
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

/* The frame header's layout, as the spec gives it (codec.CHAIN_LAYOUT, through configure). */
struct layout {
    Py_ssize_t header_size, magic_at, start_at, count_at, size_at;
    unsigned long magic;
};
static struct layout HEADER;
static int configured = 0;

/* configure(chain_layout, entry_length_format): the spec's frame header layout (header size,
 * magic, and the offsets of magic (u32), start_id (u64), entry_count (u32) and disk_size (u32))
 * and the struct format of an entry's length prefix, which must be "<L" (u32 little-endian, what
 * length_at reads). */
static PyObject *
configure(PyObject *self, PyObject *args)
{
    struct layout L;
    const char *entry_format;
    if (!PyArg_ParseTuple(args, "(nknnnn)s", &L.header_size, &L.magic, &L.magic_at, &L.start_at, &L.count_at,
                          &L.size_at, &entry_format))
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
    HEADER = L;
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

static PyObject *chain_fd(int fd, Py_ssize_t file_size, Py_ssize_t offset, unsigned long long expected,
                          unsigned long long stop_id, Py_ssize_t max_frames);

/* chain(buffer, offset, expected, stop_id, max_frames, *, fd=None) -> (offset, expected, frames, why):
 * the header walk of engine/frames/scan.py chain, in C. From `offset`, walks frames whose magic
 * and bounds are good and whose start id is `expected`, and stops at the first frame that is
 * not sound or lies past the end (why 3: END), starts at another id (2: GAP), ends above
 * `stop_id` (1: FOUND) or comes after `max_frames` frames (0: MORE); the offset returned is that
 * frame's (or the end). With `fd` (a descriptor of the file `buffer` maps) the headers are read
 * with pread instead (chain_fd below). */
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
        return chain_fd(fd, size, offset, expected, stop_id, max_frames);
    }
    const struct layout L = HEADER;
    const uint64_t size = (uint64_t)view.len;
    uint64_t pos = offset < 0 ? size : (uint64_t)offset, next = expected;
    Py_ssize_t frames = 0;
    int why = END;
    while (pos <= size && size - pos >= (uint64_t)L.header_size) {
        why = chain_step((const unsigned char *)view.buf + pos, &L, size, &pos, &next, stop_id, frames, max_frames);
        if (why != GO_ON)
            break;
        frames++;
        why = END;
    }
    PyBuffer_Release(&view);
    return Py_BuildValue("(nKni)", (Py_ssize_t)pos, (unsigned long long)next, frames, why);
}

/* chain() over a file of `file_size` bytes (the size the caller mapped)
 * read with pread instead of a memory map, in blocks that grow from 512 bytes to 256 KiB over
 * small frames and shrink back over big ones (as engine/frames/scan.py headers does): touching every
 * header of a fresh map would fault in (and keep in RSS) a page per frame far apart. Bounds are
 * checked against `file_size` (the size the caller mapped); a file cut shorter since ends the
 * walk like the end of the file. */
#define BLOCK_MIN 512
#define BLOCK_MAX (256 * 1024)

static PyObject *
chain_fd(int fd, Py_ssize_t file_size, Py_ssize_t offset, unsigned long long expected, unsigned long long stop_id,
         Py_ssize_t max_frames)
{
    const struct layout L = HEADER; /* configure() keeps header_size within BLOCK_MIN */
    unsigned char *block = PyMem_Malloc(BLOCK_MAX);
    if (block == NULL)
        return PyErr_NoMemory();
    const uint64_t size = file_size < 0 ? 0 : (uint64_t)file_size;
    uint64_t pos = offset < 0 ? size : (uint64_t)offset, next = expected, block_at = 0, block_len = 0;
    Py_ssize_t read_size = BLOCK_MIN, in_block = 0, frames = 0;
    int why = END, failed = 0;
    Py_BEGIN_ALLOW_THREADS
    while (pos <= size && size - pos >= (uint64_t)L.header_size) {
        if (pos < block_at || pos - block_at + L.header_size > block_len) {
            if (in_block >= 4) /* small frames: fewer, larger reads */
                read_size = read_size * 4 > BLOCK_MAX ? BLOCK_MAX : read_size * 4;
            else if (in_block <= 1) /* big frames: a header's worth per read again */
                read_size = BLOCK_MIN;
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
        why = chain_step(block + (pos - block_at), &L, size, &pos, &next, stop_id, frames, max_frames);
        if (why != GO_ON)
            break;
        frames++;
        why = END;
    }
    Py_END_ALLOW_THREADS
    PyMem_Free(block);
    if (failed) {
        errno = failed;
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    return Py_BuildValue("(nKni)", (Py_ssize_t)pos, (unsigned long long)next, frames, why);
}

static PyMethodDef methods[] = {
    {"configure", configure, METH_VARARGS,
     "configure(chain_layout, entry_length_format): the spec's layouts, given once (spec/native.py)."},
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
