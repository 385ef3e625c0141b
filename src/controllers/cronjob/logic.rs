//! Pure decisions of the CronJob controller, as upstream's
//! `pkg/controller/cronjob/{cronjob_controllerv2,utils}.go`: when the next
//! run is due (robfig/cron's schedule semantics, in the CronJob's
//! `timeZone`), which Job to create for it, what the concurrency policy
//! says, and which finished Jobs the history limits remove. No I/O, no clock.

use chrono::{
    DateTime, Datelike, Duration as ChronoDuration, NaiveDateTime, TimeZone, Timelike, Utc,
};
use k8s_openapi::api::batch::v1::{CronJob, Job};

use crate::apimachinery::cron::Schedule;
use crate::controllers::nodesim::logic::from_time;

/// The annotation on a created Job naming its scheduled time.
pub const SCHEDULED_TIMESTAMP_ANNOTATION: &str = "batch.kubernetes.io/cronjob-scheduled-timestamp";

/// A schedule with its location, ready to compute run times.
pub struct Cron {
    schedule: Schedule,
    tz: chrono_tz::Tz,
}

/// Parses a CronJob's schedule in its `timeZone` (or the schedule's own
/// `TZ=`, or UTC: ironkube's controller manager runs in UTC, as upstream's
/// does in its container image). Errors carry upstream's event reason.
pub fn cron_of(cj: &CronJob) -> Result<Cron, (&'static str, String)> {
    let spec = cj.spec.as_ref();
    let schedule_text = spec.map(|s| s.schedule.as_str()).unwrap_or("");
    let schedule = crate::apimachinery::cron::parse_standard(schedule_text).map_err(|e| {
        (
            "UnparseableSchedule",
            format!("unparseable schedule: {schedule_text:?} : {e}"),
        )
    })?;
    let zone = spec
        .and_then(|s| s.time_zone.clone())
        .or_else(|| match &schedule {
            Schedule::Fields { location, .. } => location.clone(),
            Schedule::Every(_) => None,
        });
    let tz = match zone.as_deref() {
        None | Some("") | Some("UTC") | Some("Local") => chrono_tz::UTC,
        Some(name) => name.parse::<chrono_tz::Tz>().map_err(|_| {
            (
                "UnknownTimeZone",
                format!("invalid timeZone: {name:?}: unknown time zone {name}"),
            )
        })?,
    };
    Ok(Cron { schedule, tz })
}

impl Cron {
    /// The first activation strictly after `t` (robfig/cron `Schedule.Next`),
    /// or `None` if none comes within five years.
    pub fn next(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let (minute, hour, dom, month, dow, dom_star, dow_star) = match &self.schedule {
            Schedule::Every(ns) => {
                // robfig's ConstantDelaySchedule: at least a second, rounded
                // down to whole seconds, from t rounded down to a second.
                let secs = (*ns / 1_000_000_000).max(1);
                let base = t.with_nanosecond(0)?;
                return base.checked_add_signed(ChronoDuration::seconds(i64::try_from(secs).ok()?));
            }
            Schedule::Fields {
                minute,
                hour,
                dom,
                month,
                dow,
                dom_star,
                dow_star,
                ..
            } => (*minute, *hour, *dom, *month, *dow, *dom_star, *dow_star),
        };
        let bit = |set: u64, v: u32| set & (1u64 << v) != 0;
        let day_matches = |d: &NaiveDateTime| {
            let dm = bit(dom, d.day());
            let wm = bit(dow, d.weekday().num_days_from_sunday());
            if dom_star || dow_star {
                dm && wm
            } else {
                dm || wm
            }
        };
        // Work in local wall-clock time, from the next whole minute.
        let local = t.with_timezone(&self.tz).naive_local();
        let mut c = local.with_second(0)?.with_nanosecond(0)? + ChronoDuration::minutes(1);
        let limit = local + ChronoDuration::days(5 * 366);
        while c <= limit {
            if !bit(month, c.month()) {
                let (y, m) = if c.month() == 12 {
                    (c.year() + 1, 1)
                } else {
                    (c.year(), c.month() + 1)
                };
                c = chrono::NaiveDate::from_ymd_opt(y, m, 1)?.and_hms_opt(0, 0, 0)?;
                continue;
            }
            if !day_matches(&c) {
                c = (c.date() + ChronoDuration::days(1)).and_hms_opt(0, 0, 0)?;
                continue;
            }
            if !bit(hour, c.hour()) {
                c = c.with_minute(0)? + ChronoDuration::hours(1);
                continue;
            }
            if !bit(minute, c.minute()) {
                c += ChronoDuration::minutes(1);
                continue;
            }
            // A wall-clock time skipped by a DST change does not run; an
            // ambiguous one runs at its first occurrence.
            match self.tz.from_local_datetime(&c) {
                chrono::LocalResult::Single(d) => return Some(d.with_timezone(&Utc)),
                chrono::LocalResult::Ambiguous(a, _) => return Some(a.with_timezone(&Utc)),
                chrono::LocalResult::None => {
                    c += ChronoDuration::minutes(1);
                    continue;
                }
            }
        }
        None
    }

    /// The scheduled time as the Job's annotation writes it (RFC 3339 in the
    /// CronJob's location, as upstream formats `scheduledTime.In(loc)`).
    pub fn format(&self, t: DateTime<Utc>) -> String {
        t.with_timezone(&self.tz)
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    }
}

/// Upstream `mostRecentScheduleTime`: the latest activation at or before
/// `now`, counted from the last schedule time (or the CronJob's creation,
/// or `now - startingDeadlineSeconds` if later), and how many activations
/// were missed (capped at 101, upstream's "too many" threshold).
pub fn most_recent_schedule(
    cj: &CronJob,
    cron: &Cron,
    now: DateTime<Utc>,
) -> (Option<DateTime<Utc>>, usize) {
    let status = cj.status.as_ref();
    let mut earliest = status
        .and_then(|s| s.last_schedule_time.as_ref())
        .and_then(from_time)
        .or_else(|| cj.metadata.creation_timestamp.as_ref().and_then(from_time))
        .unwrap_or(now);
    if let Some(deadline) = cj.spec.as_ref().and_then(|s| s.starting_deadline_seconds) {
        let from_deadline = now - ChronoDuration::seconds(deadline);
        if from_deadline > earliest {
            earliest = from_deadline;
        }
    }
    let mut latest = None;
    let mut missed = 0usize;
    let mut t = earliest;
    while let Some(n) = cron.next(t) {
        if n > now {
            break;
        }
        latest = Some(n);
        missed += 1;
        if missed > 100 {
            // Jump to the last activation before now without counting.
            let mut last = n;
            let mut t2 = n;
            while let Some(m) = cron.next(t2) {
                if m > now {
                    break;
                }
                last = m;
                t2 = m;
            }
            latest = Some(last);
            break;
        }
        t = n;
    }
    (latest, missed)
}

/// Upstream `getJobName`: `<cronjob>-<scheduled time in minutes since the epoch>`.
pub fn job_name(cj: &CronJob, scheduled: DateTime<Utc>) -> String {
    format!(
        "{}-{}",
        cj.metadata.name.as_deref().unwrap_or_default(),
        scheduled.timestamp().div_euclid(60)
    )
}

/// A Job's terminal condition, if it has one (`Complete` / `Failed` true).
pub fn finished_condition(job: &Job) -> Option<&str> {
    job.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| (c.type_ == "Complete" || c.type_ == "Failed") && c.status == "True")
        .map(|c| c.type_.as_str())
}

/// The finished Jobs beyond the history limits, oldest first (upstream
/// `removeOldestJobs`, ordered by start time).
pub fn jobs_to_clean_up<'a>(cj: &CronJob, jobs: &[&'a Job]) -> Vec<&'a Job> {
    let spec = cj.spec.as_ref();
    let keep_ok = spec
        .and_then(|s| s.successful_jobs_history_limit)
        .unwrap_or(3)
        .max(0) as usize;
    let keep_failed = spec
        .and_then(|s| s.failed_jobs_history_limit)
        .unwrap_or(1)
        .max(0) as usize;
    let start = |j: &Job| {
        j.status
            .as_ref()
            .and_then(|s| s.start_time.as_ref())
            .and_then(from_time)
    };
    let mut out = Vec::new();
    for (kind, keep) in [("Complete", keep_ok), ("Failed", keep_failed)] {
        let mut done: Vec<&Job> = jobs
            .iter()
            .copied()
            .filter(|j| {
                finished_condition(j) == Some(kind) && j.metadata.deletion_timestamp.is_none()
            })
            .collect();
        if done.len() <= keep {
            continue;
        }
        done.sort_by_key(|j| start(j));
        let n = done.len() - keep;
        out.extend(done.into_iter().take(n));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cj(schedule: &str, tz: Option<&str>) -> CronJob {
        serde_json::from_value(json!({
            "metadata": {"name": "c", "namespace": "ns",
                         "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"schedule": schedule, "timeZone": tz, "jobTemplate": {"spec": {"template": {}}}},
        }))
        .expect("a cronjob")
    }

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("time")
            .with_timezone(&Utc)
    }

    #[test]
    fn next_follows_the_fields() {
        let c = cron_of(&cj("*/5 * * * *", None)).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            c.next(t("2026-01-01T00:00:00Z")),
            Some(t("2026-01-01T00:05:00Z"))
        );
        assert_eq!(
            c.next(t("2026-01-01T00:04:59Z")),
            Some(t("2026-01-01T00:05:00Z"))
        );
        let c = cron_of(&cj("30 2 * * mon", None)).unwrap_or_else(|e| panic!("{e:?}"));
        // 2026-01-01 is a Thursday: next Monday is the 5th.
        assert_eq!(
            c.next(t("2026-01-01T00:00:00Z")),
            Some(t("2026-01-05T02:30:00Z"))
        );
        // Both day fields restricted: either matches.
        let c = cron_of(&cj("0 0 15 * fri", None)).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            c.next(t("2026-01-01T00:00:00Z")),
            Some(t("2026-01-02T00:00:00Z"))
        );
        let c = cron_of(&cj("@monthly", None)).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            c.next(t("2026-01-01T00:00:00Z")),
            Some(t("2026-02-01T00:00:00Z"))
        );
        let c = cron_of(&cj("@hourly", None)).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            c.next(t("2026-01-01T00:10:00Z")),
            Some(t("2026-01-01T01:00:00Z"))
        );
    }

    #[test]
    fn time_zones_shift_the_wall_clock() {
        let c =
            cron_of(&cj("0 9 * * *", Some("Europe/Berlin"))).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            c.next(t("2026-01-01T00:00:00Z")),
            Some(t("2026-01-01T08:00:00Z"))
        );
        assert_eq!(
            c.format(t("2026-01-01T08:00:00Z")),
            "2026-01-01T09:00:00+01:00"
        );
        let err = cron_of(&cj("0 9 * * *", Some("Mars/Base")))
            .err()
            .expect("an error");
        assert_eq!(err.0, "UnknownTimeZone");
    }

    #[test]
    fn most_recent_schedule_counts_missed_runs() {
        let c = cj("*/5 * * * *", None);
        let cron = cron_of(&c).unwrap_or_else(|e| panic!("{e:?}"));
        let (last, missed) = most_recent_schedule(&c, &cron, t("2026-01-01T00:17:00Z"));
        assert_eq!(last, Some(t("2026-01-01T00:15:00Z")));
        assert_eq!(missed, 3);
        let (last, missed) = most_recent_schedule(&c, &cron, t("2026-01-01T00:04:00Z"));
        assert_eq!((last, missed), (None, 0));
        let (last, missed) = most_recent_schedule(&c, &cron, t("2026-01-02T00:01:00Z"));
        assert_eq!(last, Some(t("2026-01-02T00:00:00Z")));
        assert_eq!(missed, 101);
        assert_eq!(job_name(&c, t("2026-01-01T00:15:00Z")), "c-29453775");
    }

    #[test]
    fn history_limits_remove_the_oldest() {
        let c = cj("* * * * *", None);
        let job = |name: &str, start: &str, cond: &str| -> Job {
            serde_json::from_value(json!({
                "metadata": {"name": name},
                "status": {"startTime": start, "conditions": [{"type": cond, "status": "True"}]},
            }))
            .expect("a job")
        };
        let jobs = [
            job("a", "2026-01-01T00:01:00Z", "Complete"),
            job("b", "2026-01-01T00:02:00Z", "Complete"),
            job("c", "2026-01-01T00:03:00Z", "Complete"),
            job("d", "2026-01-01T00:04:00Z", "Complete"),
            job("e", "2026-01-01T00:05:00Z", "Failed"),
            job("f", "2026-01-01T00:06:00Z", "Failed"),
        ];
        let refs: Vec<&Job> = jobs.iter().collect();
        let names: Vec<_> = jobs_to_clean_up(&c, &refs)
            .iter()
            .map(|j| j.metadata.name.clone().unwrap_or_default())
            .collect();
        assert_eq!(names, vec!["a", "e"]);
    }
}
