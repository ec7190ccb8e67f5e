"""What is shown of a run: report.html and its plots, progress lines, the dashboard."""
