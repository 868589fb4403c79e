"""What results look like: tables, JSON/Markdown/CSV, the HTML report."""
