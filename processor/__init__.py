"""starbatch: rate grassroots Party branches from township workbooks, by rulebook."""
import os

# openpyxl serialises XML differently when lxml is importable (namespace placement), so the same workbook would
# have other bytes on a machine where some other package brought lxml in. Outputs must be byte-identical
# everywhere: openpyxl always uses the standard library's writer. Set before anything imports openpyxl.
os.environ["OPENPYXL_LXML"] = "False"

__version__ = "0.1.0"
