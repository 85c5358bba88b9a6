/* The walk over a raw batch's u32 length prefixes, in C: the hot loop of verify and of every read
 * for entries of mixed lengths.
 *
 * end(buffer, count) -> the offset just past `count` length-prefixed entries (u32 little-endian
 * length, then that many bytes), or -1 when a length prefix or an entry runs past the end of the
 * buffer. Exactly what spec/walk.py batch_end_python computes; walk.py falls back to that when this module
 * was not built (no compiler at install time). Each step depends on the one before, so in Python
 * it costs ~0.1 us per entry; here a few ns.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

/* The u32 little-endian length prefix at p[pos..pos+4). */
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

static PyObject *
end(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    Py_buffer view;
    Py_ssize_t count;
    if (parse_args(args, nargs, "end", &view, &count) < 0)
        return NULL;
    uint64_t pos;
    Py_ssize_t walked = walk((const unsigned char *)view.buf, (uint64_t)view.len, count, &pos);
    PyBuffer_Release(&view);
    return PyLong_FromLongLong(walked == count ? (long long)pos : -1LL);
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

/* chain(buffer, offset, expected, stop_id, max_frames, layout) -> (offset, expected, frames, why):
 * the header walk of engine/scan.py chain_python, in C. From `offset`, walks frames whose magic
 * and bounds are good and whose start id is `expected`, and stops at the first frame that is
 * not sound or not in sequence (why 3: END, or 2: GAP), that ends above `stop_id` (1: FOUND) or
 * after `max_frames` frames (0: MORE); the offset returned is that frame's (or the end). The
 * header's layout comes from the spec, never from here: layout = (header size, magic, and the
 * offsets of magic (u32), start_id (u64), entry_count (u32) and disk_size (u32)). */
static PyObject *
chain(PyObject *self, PyObject *args)
{
    Py_buffer view;
    Py_ssize_t offset, max_frames, header_size, magic_at, start_at, count_at, size_at;
    unsigned long long expected, stop_id;
    unsigned long magic;
    if (!PyArg_ParseTuple(args, "y*nKKn(nknnnn)", &view, &offset, &expected, &stop_id, &max_frames,
                          &header_size, &magic, &magic_at, &start_at, &count_at, &size_at))
        return NULL;
    const unsigned char *p = (const unsigned char *)view.buf;
    const uint64_t size = (uint64_t)view.len;
    uint64_t pos = offset < 0 ? size : (uint64_t)offset;
    Py_ssize_t frames = 0;
    int why = 3;
    while (pos <= size && size - pos >= (uint64_t)header_size) {
        uint64_t first = u64_at(p, pos + start_at);
        uint64_t count = length_at(p, pos + count_at);
        uint64_t disk = length_at(p, pos + size_at);
        if (length_at(p, pos + magic_at) != magic || size - pos - header_size < disk)
            break; /* not sound: END */
        if (first != expected) {
            why = 2;
            break;
        }
        if (frames == max_frames) {
            why = 0;
            break;
        }
        if (count > stop_id || first > stop_id - count) { /* first + count > stop_id, without overflow */
            why = 1;
            break;
        }
        expected = first + count;
        pos += header_size + disk;
        frames++;
    }
    PyBuffer_Release(&view);
    return Py_BuildValue("(nKni)", (Py_ssize_t)pos, expected, frames, why);
}

static PyMethodDef methods[] = {
    {"chain", chain, METH_VARARGS,
     "chain(buffer, offset, expected, stop_id, max_frames, layout): walk frames in sequence (see _walk.c)."},
    {"end", (PyCFunction)(void (*)(void))end, METH_FASTCALL,
     "end(buffer, count): offset past count u32-LE-length-prefixed entries, or -1 if they run past the end."},
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
