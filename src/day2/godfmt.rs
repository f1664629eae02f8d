//! Go formatting kubeadm's day-two output depends on: `text/tabwriter` (the table of
//! `certs check-expiration`), apimachinery's `duration.HumanDuration` and Go's
//! `Jan 02, 2006 15:04 MST` time layout.

use time::OffsetDateTime;

/// Go's `text/tabwriter` with flags 0 (space padding, left-aligned), as kubeadm's
/// `certTextPrinter` uses it: `tabwriter.NewWriter(w, minwidth, tabwidth, padding, ' ', 0)`.
///
/// Cells are tab-terminated; the text after the last tab of a line is not part of a column.
/// A column block is a run of consecutive lines that have a cell in that column, and every
/// cell of a block is padded to the block's widest cell plus `padding` (at least
/// `minwidth`). Mirrors `Writer.format` of Go's text/tabwriter.
pub fn tabwrite(text: &str, minwidth: usize, padding: usize) -> String {
    let lines: Vec<Vec<&str>> = text
        .split_terminator('\n')
        .map(|l| l.split('\t').collect())
        .collect();
    let mut out = String::new();
    let mut widths = Vec::new();
    format_block(
        &lines,
        0,
        lines.len(),
        &mut widths,
        minwidth,
        padding,
        &mut out,
    );
    out
}

fn format_block(
    lines: &[Vec<&str>],
    line0: usize,
    line1: usize,
    widths: &mut Vec<usize>,
    minwidth: usize,
    padding: usize,
    out: &mut String,
) {
    let column = widths.len();
    let mut start = line0;
    let mut this = line0;
    while this < line1 {
        if column + 1 >= lines[this].len() {
            this += 1;
            continue;
        }
        write_lines(lines, start, this, widths, out);
        start = this;
        let mut width = minwidth;
        while this < line1 && column + 1 < lines[this].len() {
            width = width.max(lines[this][column].chars().count() + padding);
            this += 1;
        }
        widths.push(width);
        format_block(lines, start, this, widths, minwidth, padding, out);
        widths.pop();
        start = this;
    }
    write_lines(lines, start, line1, widths, out);
}

fn write_lines(
    lines: &[Vec<&str>],
    line0: usize,
    line1: usize,
    widths: &[usize],
    out: &mut String,
) {
    for line in &lines[line0..line1] {
        for (j, cell) in line.iter().enumerate() {
            out.push_str(cell);
            if j < widths.len() {
                let w = cell.chars().count();
                out.extend(std::iter::repeat_n(' ', widths[j].saturating_sub(w)));
            }
        }
        out.push('\n');
    }
}

/// apimachinery's `duration.HumanDuration` (kubeadm ≥ 1.31's RESIDUAL TIME column) of a
/// number of seconds: `<invalid>`, `0s`, `90s`, `2m30s`, `4d4h`, `364d`, `2y327d`, `9y`.
pub fn human_duration(secs: i64) -> String {
    if secs < -1 {
        return "<invalid>".into();
    } else if secs < 0 {
        return "0s".into();
    } else if secs < 120 {
        return format!("{secs}s");
    }
    let minutes = secs / 60;
    if minutes < 10 {
        let s = secs % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    } else if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = secs / 3600;
    if hours < 8 {
        let m = minutes % 60;
        if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        }
    } else if hours < 48 {
        format!("{hours}h")
    } else if hours < 24 * 8 {
        let h = hours % 24;
        if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{h}h", hours / 24)
        }
    } else if hours < 24 * 365 * 2 {
        format!("{}d", hours / 24)
    } else if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        if dy == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{dy}d", hours / 24 / 365)
        }
    } else {
        format!("{}y", hours / 24 / 365)
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A Unix time in Go's `Jan 02, 2006 15:04 MST` layout, in UTC: `Dec 30, 2020 23:36 UTC`.
pub fn go_expiry(unix: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp(unix).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!(
        "{} {:02}, {} {:02}:{:02} UTC",
        MONTHS[usize::from(u8::from(t.month())) - 1],
        t.day(),
        t.year(),
        t.hour(),
        t.minute()
    )
}

/// A Unix time as RFC 3339 in UTC with whole seconds (`2027-12-07T03:33:00Z`), as
/// `metav1.Time` marshals.
pub fn rfc3339(unix: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp(unix).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_duration_matches_apimachinery() {
        for (secs, want) in [
            (90, "90s"),
            (150, "2m30s"),
            (600, "10m"),
            (100 * 3600, "4d4h"),
            (8759 * 3600, "364d"),
            (1057 * 86400, "2y327d"),
            (87599 * 3600, "9y"),
            (-5, "<invalid>"),
            (-1, "0s"),
            (2 * 3600, "120m"),
            (5 * 3600 + 60, "5h1m"),
            (3 * 86400, "3d"),
        ] {
            assert_eq!(human_duration(secs), want, "{secs}");
        }
    }

    #[test]
    fn go_layout() {
        // 2020-12-30 23:36:00 UTC
        assert_eq!(go_expiry(1_609_371_360), "Dec 30, 2020 23:36 UTC");
        assert_eq!(rfc3339(1_609_371_360), "2020-12-30T23:36:00Z");
    }

    #[test]
    fn tabwriter_blocks_like_go() {
        let t = "A\tBB\tC\nlonger name\tx\tlast\n\nX\tY\n";
        let got = tabwrite(t, 10, 3);
        assert_eq!(
            got,
            "A             BB        C\nlonger name   x         last\n\nX         Y\n"
        );
        // Trailing empty cells are padded, as Go does for a !MISSING! row.
        assert_eq!(tabwrite("ab\t\t\n", 4, 1), "ab      \n");
    }
}
