//! The init wizard's runtime side of the upgrade it offers: what to offer (from
//! `phases::upgrade::plan::offer`, read before the terminal is taken) and what to print once
//! the wizard ends after an upgrade.

use std::path::Path;
use std::time::Duration;

use super::state::{App, UpgradeOffer};
use crate::engine::RunOutcome;
use crate::host::Host;

/// How long the welcome screen waits for the cluster to answer before it offers nothing.
pub const OFFER_TIMEOUT: Duration = Duration::from_secs(5);

/// The upgrade to offer on the welcome screen: only when a control plane is on this machine
/// (`existing`, its certificates found) and `upgrade plan` lists a newer carried version for
/// the cluster that `/etc/kubernetes/admin.conf` reaches within [`OFFER_TIMEOUT`]. Returns
/// `None` otherwise (an unreachable cluster is no error here: the wizard opens as before).
pub fn offer(
    rt: &tokio::runtime::Runtime,
    host: &dyn Host,
    existing: bool,
) -> Option<UpgradeOffer> {
    if !existing {
        return None;
    }
    let kubeconfig = Path::new(super::engine_link::UPGRADE_KUBECONFIG);
    let plan = rt.block_on(async {
        tokio::time::timeout(
            OFFER_TIMEOUT,
            crate::phases::upgrade::plan::offer(host, kubeconfig),
        )
        .await
    });
    match plan {
        Ok(Ok(Some(p))) => UpgradeOffer::new(p),
        _ => None,
    }
}

/// After an upgrade from the wizard: prints its outcome on the normal screen (as
/// `kubestrap upgrade apply` ends) and returns the exit code (0 when it succeeded).
pub fn finish(app: &App) -> Option<i32> {
    let run = app.upgrade_run.as_ref()?;
    Some(match &run.outcome {
        Some(RunOutcome::Succeeded) => {
            println!(
                "[upgrade] SUCCESS! A control plane node of your cluster was upgraded to {:?}.\n\n[upgrade] Now please proceed with upgrading the rest of the nodes by following the right order.",
                run.version
            );
            0
        }
        Some(RunOutcome::Failed { .. }) => {
            let (e, hint) = run.error.clone().unwrap_or_default();
            eprintln!("error: the upgrade to {} failed: {e}", run.version);
            if let Some(h) = hint {
                eprintln!("(hint: {h})");
            }
            1
        }
        Some(RunOutcome::Cancelled { .. }) | None => {
            eprintln!("the upgrade to {} was cancelled", run.version);
            1
        }
    })
}
