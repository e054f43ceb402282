"""Reports: one builder of plain data (builder.py), renderers (excel.py, csv.py), closing and delivery."""
