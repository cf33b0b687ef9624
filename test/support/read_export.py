"""Reads an exported file with an independent reader and prints it as JSON, for the tests.

    python read_export.py parquet FILE   ->  {"schema": {column: arrow type}, "row_groups": N, "rows": [...]}
    python read_export.py xlsx FILE      ->  {"sheets": [{"name", "header", "rows", "quote_prefix"}]}

pyarrow reads Parquet, openpyxl reads Excel: neither shares code with the writers. Dates come
back as ISO 8601 text with milliseconds and a Z (Excel dates are UTC), so they compare with
the JSON rows.
"""
import datetime
import json
import sys


def iso(value):
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        # Excel stores a date as a fraction of a day: round to the millisecond it was written with.
        millis = round(value.microsecond / 1000)
        value = value.replace(microsecond=0) + datetime.timedelta(milliseconds=millis)
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    return value


def read_parquet(path):
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(path)
    table = parquet.read()
    rows = [{key: iso(value) for key, value in row.items()} for row in table.to_pylist()]
    schema = {field.name: str(field.type) for field in table.schema}
    return {"schema": schema, "row_groups": parquet.num_row_groups, "rows": rows}


def read_xlsx(path):
    import openpyxl
    from openpyxl.utils.escape import unescape

    def text(value):
        # Excel decodes the OOXML escape _xHHHH_ in text (how XML carries control characters);
        # openpyxl leaves it to the caller for inline strings.
        return unescape(value) if isinstance(value, str) else value

    book = openpyxl.load_workbook(path)  # not read-only: cell styles (quote prefix) are read too
    sheets = []
    for sheet in book.worksheets:
        values = list(sheet.iter_rows())
        header = [text(cell.value) for cell in values[0]] if values else []
        rows = []
        quote_prefix = []
        for number, cells in enumerate(values[1:], start=2):
            rows.append({header[i]: iso(text(cell.value)) for i, cell in enumerate(cells) if i < len(header)})
            quote_prefix += [cell.coordinate for cell in cells if cell.quotePrefix]
        sheets.append({"name": sheet.title, "header": header, "rows": rows, "quote_prefix": quote_prefix,
                       "frozen": sheet.freeze_panes})
    return {"sheets": sheets}


if __name__ == "__main__":
    kind, path = sys.argv[1], sys.argv[2]
    result = read_parquet(path) if kind == "parquet" else read_xlsx(path)
    json.dump(result, sys.stdout, ensure_ascii=False, default=str)
