/* The guard's one-pass scan of a worksheet part, in C: processor/xlsxscan.py's plain_and_near, line for line.

   xlsxscan.plain_and_near is the reference; this is the same question asked of each byte, ~0.02 instead of ~0.07 ms
   of a 65 KB sheet compiled by mypyc (which checks each index and boxes each byte). It answers "yes" only where the
   reference does (tests/test_hostile_guard.py compares the two on real sheets with hostile pieces spliced in), and a
   "no" only sends the sheet to the guard's slower, exact scans: it can cost time, never safety.
   Built with the package where there is a C compiler (setup.py); without it the guard uses the reference. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

static inline int is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static inline int ends_tag_name(unsigned char c) { return is_space(c) || c == '/' || c == '>'; }

/* At i (just after "<" or ":"): "row" and the end of the tag's name. */
static inline int is_row_tag(const unsigned char *d, Py_ssize_t i, Py_ssize_t n) {
    return i + 3 < n && d[i] == 'r' && d[i + 1] == 'o' && d[i + 2] == 'w' && ends_tag_name(d[i + 3]);
}

/* At i (just after "<" or ":"): "c" and the end of the tag's name. */
static inline int is_cell_tag(const unsigned char *d, Py_ssize_t i, Py_ssize_t n) {
    return i + 1 < n && d[i] == 'c' && ends_tag_name(d[i + 1]);
}

/* At i: a space, r="…" with at most two letters and one to four digits, and its closing quote (ZZ9999 at most). */
static int near_reference(const unsigned char *d, Py_ssize_t i, Py_ssize_t n) {
    if (i + 4 > n || !is_space(d[i]) || d[i + 1] != 'r' || d[i + 2] != '=' || d[i + 3] != '"')
        return 0;
    Py_ssize_t j = i + 4, letters = 0, digits = 0;
    while (j < n && letters < 3 && ((d[j] >= 'A' && d[j] <= 'Z') || (d[j] >= 'a' && d[j] <= 'z'))) {
        letters++;
        j++;
    }
    while (j < n && digits < 5 && d[j] >= '0' && d[j] <= '9') {
        digits++;
        j++;
    }
    return letters <= 2 && digits >= 1 && digits <= 4 && j < n && d[j] == '"';
}

/* The space at s (before r=") follows "<c" or "<row": the r is the first attribute of a row or cell tag. */
static int opens_row_or_cell(const unsigned char *d, Py_ssize_t s) {
    return (s >= 2 && d[s - 2] == '<' && d[s - 1] == 'c')
        || (s >= 4 && d[s - 4] == '<' && d[s - 3] == 'r' && d[s - 2] == 'o' && d[s - 1] == 'w');
}

static Py_ssize_t find(const unsigned char *d, Py_ssize_t n, const char *needle) {
    Py_ssize_t k = (Py_ssize_t)strlen(needle);
    for (Py_ssize_t i = 0; i + k <= n; i++)
        if (d[i] == (unsigned char)needle[0] && memcmp(d + i, needle, (size_t)k) == 0)
            return i;
    return -1;
}

/* The bytes the scan looks at ("=", "<", ":"); every other byte is passed over in a tight loop. */
static unsigned char marked[256];

static int scan(const unsigned char *d, Py_ssize_t n) {
    Py_ssize_t sheet_data = find(d, n, "sheetData");
    int declared = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        while (i < n && !marked[d[i]])
            i++;
        if (i == n)
            break;
        unsigned char c = d[i];
        if (c == '=') {
            if (i + 1 >= n || d[i + 1] != '"' || (i > 0 && is_space(d[i - 1])))
                return 0;
            if (i >= 2 && d[i - 1] == 'r') {
                unsigned char before = d[i - 2];
                if (is_space(before)) {
                    if (!opens_row_or_cell(d, i - 2))
                        return 0;
                } else if (before == ':') {
                    /* The one namespace declaration xmlns:r="…" on the root, before the sheet data. */
                    if (declared || i < 8 || memcmp(d + i - 8, " xmlns", 6) != 0 || i >= sheet_data)
                        return 0;
                    declared = 1;
                }
            }
        } else if (c == '<') {
            if (is_cell_tag(d, i + 1, n)) {
                if (!near_reference(d, i + 2, n))
                    return 0;
            } else if (is_row_tag(d, i + 1, n)) {
                if (!near_reference(d, i + 4, n))
                    return 0;
            }
        } else if (c == ':') {
            if (is_cell_tag(d, i + 1, n) || is_row_tag(d, i + 1, n))
                return 0;
        }
    }
    return 1;
}

static PyObject *plain_and_near(PyObject *module, PyObject *data) {
    (void)module;
    if (!PyBytes_Check(data)) {
        PyErr_SetString(PyExc_TypeError, "plain_and_near takes bytes");
        return NULL;
    }
    int plain = scan((const unsigned char *)PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data));
    return PyBool_FromLong(plain);
}

static PyMethodDef methods[] = {
    {"plain_and_near", plain_and_near, METH_O,
     "True when the guard's literal scans would all pass this worksheet part (xlsxscan.plain_and_near)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_plainscan", NULL, -1, methods};

PyMODINIT_FUNC PyInit__plainscan(void) {
    marked['='] = marked['<'] = marked[':'] = 1;
    return PyModule_Create(&module);
}
