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

static PyMethodDef methods[] = {
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
