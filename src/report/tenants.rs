//! The roll-up of a plan or run over several tenants (`--tenants`): `summary.md` and
//! `report.html` in the run folder, a row per tenant, each linking to the tenant's own
//! reports.

use std::fmt::Write as _;

use super::page::Text;

/// One tenant's row: who, where, how it ended, its rows by status (all in words).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollUpRow {
    pub tenant: String,
    pub folder: String,
    pub outcome: String,
    pub counts: String,
}

/// `summary.md` of a `plan` or `run` (`what`) over the tenants with rows, of the
/// `in_file` the tenants file names.
pub fn summary_md(what: &str, in_file: usize, rows: &[RollUpRow]) -> String {
    let cell = |s: &str| s.replace('|', "\\|").replace(['\n', '\r'], " ");
    let mut md = String::new();
    let _ = writeln!(md, "# mfa-reset {what} over {} tenants\n", rows.len());
    let _ = writeln!(
        md,
        "The tenants file names {in_file}; the list has rows of {}. Each tenant's folder holds \
         its own plan, results and reports.\n",
        rows.len()
    );
    let _ = writeln!(md, "| Tenant | Folder | Outcome | Rows by status |");
    let _ = writeln!(md, "|---|---|---|---|");
    for r in rows {
        let _ = writeln!(
            md,
            "| {} | `{}/` | {} | {} |",
            cell(&r.tenant),
            cell(&r.folder),
            cell(&r.outcome),
            cell(&r.counts)
        );
    }
    md
}

/// `report.html` of a `plan` or `run` (`what`) over several tenants.
pub fn report_html(what: &str, rows: &[RollUpRow]) -> String {
    let title = format!("mfa-reset {what} over {} tenants", rows.len());
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         <style>body{{font-family:system-ui,sans-serif;margin:2em}}table{{border-collapse:collapse}}\
         td,th{{border:1px solid #999;padding:.3em .6em;text-align:left}}</style></head><body>\
         <h1>{title}</h1><p>Each tenant's folder holds its own <code>report.html</code>.</p>\
         <table id=\"tenants\"><thead><tr><th>Tenant</th><th>Folder</th><th>Outcome</th>\
         <th>Rows by status</th></tr></thead><tbody>"
    );
    for r in rows {
        let _ = write!(
            html,
            "<tr><td>{}</td><td><a href=\"{}/report.html\">{}/</a></td><td>{}</td><td>{}</td></tr>",
            Text(&r.tenant),
            Text(&r.folder),
            Text(&r.folder),
            Text(&r.outcome),
            Text(&r.counts)
        );
    }
    html.push_str("</tbody></table></body></html>\n");
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_roll_up_escapes_what_tenants_and_errors_say() {
        let rows = [RollUpRow {
            tenant: "<b>Contoso</b> | x".into(),
            folder: "contoso.com".into(),
            outcome: "exit 3 — refused".into(),
            counts: "no results".into(),
        }];
        let md = summary_md("run", 2, &rows);
        assert!(md.contains("<b>Contoso</b> \\| x"), "{md}");
        let html = report_html("run", &rows);
        assert!(html.contains("&lt;b&gt;Contoso&lt;/b&gt;"), "{html}");
        assert!(!html.contains("<b>Contoso"), "{html}");
    }
}
