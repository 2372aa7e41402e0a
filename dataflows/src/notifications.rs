//! `notification_rates` and `notification_bounces`: every notification is summarised once
//! from all its events (earliest send = cohort, distinct outcomes), then its summary is added
//! to the cohort's windows. A webhook arriving before its send is held in the notification's
//! group and counted the moment the send arrives. The same summaries (with the earliest
//! delivery time, category and template) feed `notification_latency` and
//! `notification_variants` (module `notifications_v2`), which also builds
//! `notification_failures` from the `notifications.dlq` records.

use differential_dataflow::collection::VecCollection;
use pulso_events::delivery_sla::DeliverySla;
use pulso_events::registry::{View, ViewSelection};
use pulso_events::time::Granularity;
use pulso_events::views::{
    NotificationBounces, NotificationFailures, NotificationLatency, NotificationRates,
    NotificationVariants,
};
use pulso_events::{
    Body, BounceType, CasoEvent, Channel, Event, NotificationEvent, Outcome, Send, Topic,
};
use serde::{Deserialize, Serialize};

use crate::event_id::EventId;
use crate::health;
use crate::intern::{EntityId, Interner, Name};
use crate::notifications_v2 as v2;
use crate::pack::{Pack, Packer, Unpacker};
use crate::retention::{Retention, WindowHorizons};
use crate::summarise::{summarise_expiring, Expiry};
use crate::sums::Sums;
use crate::watermark::Maxima;
use crate::windows::sum_windows;
use crate::{Epoch, SharedEvent};

/// What the views read of a send (not the whole send: this is kept per notification).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
struct SendFacts {
    channel: Channel,
    provider: Name,
    preferred_channel: Option<Channel>,
    cost: Option<i64>,
    category: Name,
    /// The template (`none` when absent; a Conecta360 send's `tipo`).
    template: Name,
}

impl SendFacts {
    fn of(send: &Send, template: Option<&str>, names: &mut Interner) -> SendFacts {
        SendFacts {
            channel: send.channel,
            provider: names.name(&send.provider),
            preferred_channel: send.preferred_channel,
            cost: send.cost,
            category: names.name(&send.category),
            template: names.name(template.unwrap_or("none")),
        }
    }
}

/// What a provider webhook says, reduced to what the views read.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum Hook {
    /// Delivered, at this event time (the earliest one is the delivery).
    Delivered(i64),
    Opened,
    Clicked,
    Converted,
    /// Bounce type and reason (`unspecified` when the webhook gives none).
    Bounced(BounceType, Name),
    Failed,
}

impl Hook {
    fn of(outcome: &Outcome, at: i64, names: &mut Interner) -> Hook {
        match outcome {
            Outcome::Delivered => Hook::Delivered(at),
            Outcome::Opened => Hook::Opened,
            Outcome::Clicked => Hook::Clicked,
            Outcome::Converted => Hook::Converted,
            Outcome::Bounced {
                bounce_type,
                reason,
            } => Hook::Bounced(
                *bounce_type,
                names.name(reason.as_deref().unwrap_or("unspecified")),
            ),
            Outcome::Failed { .. } => Hook::Failed,
        }
    }
}

/// One event of a notification, ordered so that sends come first, earliest first.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum NotificationFact {
    /// A send: `(timestamp, event_id, tenant, send)`.
    Sent(i64, EventId, Name, SendFacts),
    /// A Conecta360 send with `estado: FALLIDO`.
    SendFailed,
    /// A provider webhook.
    Webhook(Hook),
}

impl Pack for NotificationFact {
    fn pack(&self, out: &mut Packer<'_>) {
        match self {
            NotificationFact::Sent(at, id, tenant, send) => {
                out.byte(0);
                at.pack(out);
                id.pack(out);
                tenant.pack(out);
                out.plain(&(send.channel, send.preferred_channel));
                send.cost.pack(out);
                send.provider.pack(out);
                send.category.pack(out);
                send.template.pack(out);
            }
            NotificationFact::SendFailed => out.byte(1),
            NotificationFact::Webhook(hook) => match hook {
                Hook::Delivered(at) => {
                    out.byte(2);
                    at.pack(out);
                }
                Hook::Opened => out.byte(3),
                Hook::Clicked => out.byte(4),
                Hook::Converted => out.byte(5),
                Hook::Bounced(bounce_type, reason) => {
                    out.byte(6);
                    out.plain(bounce_type);
                    reason.pack(out);
                }
                Hook::Failed => out.byte(7),
            },
        }
    }

    fn unpack(input: &mut Unpacker<'_>) -> Self {
        let hook = match input.byte() {
            0 => {
                let (at, id, tenant) = Pack::unpack(input);
                let (channel, preferred_channel) = input.plain();
                let (cost, provider) = Pack::unpack(input);
                let (category, template) = Pack::unpack(input);
                let send = SendFacts {
                    channel,
                    provider,
                    preferred_channel,
                    cost,
                    category,
                    template,
                };
                return NotificationFact::Sent(at, id, tenant, send);
            }
            1 => return NotificationFact::SendFailed,
            2 => Hook::Delivered(i64::unpack(input)),
            3 => Hook::Opened,
            4 => Hook::Clicked,
            5 => Hook::Converted,
            6 => {
                let bounce_type = input.plain();
                Hook::Bounced(bounce_type, Pack::unpack(input))
            }
            _ => Hook::Failed,
        };
        NotificationFact::Webhook(hook)
    }
}

/// What one notification contributes to the views.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub(crate) enum NotificationSummary {
    /// A sent notification: its earliest send and the totals it adds to its cohort.
    Cohort {
        tenant_id: Name,
        channel: Channel,
        provider: Name,
        sent_at: i64,
        totals: [i64; 10],
        bounces: Vec<(BounceType, Name)>,
        /// Category and template of the earliest send.
        variant: (Name, Name),
        /// The earliest `NOTIFICATION_DELIVERED` time, when delivered.
        delivered_at: Option<i64>,
    },
    /// Webhook events of a notification never sent.
    Orphans(i64),
}

/// The facts of one event about notifications (a Conecta360 `FALLIDO` send gives two).
fn facts(event: &Event, names: &mut Interner) -> Vec<(EntityId, NotificationFact)> {
    let sent = |send: &Send, template: Option<&str>, names: &mut Interner| {
        NotificationFact::Sent(
            event.timestamp,
            EventId::new(&event.event_id),
            names.name(&event.tenant_id),
            SendFacts::of(send, template, names),
        )
    };
    match &event.body {
        Body::Notification(NotificationEvent::Sent(send)) => {
            let fact = sent(send, send.template.as_deref(), names);
            vec![(EntityId::from(send.notification_id.as_str()), fact)]
        }
        Body::Notification(NotificationEvent::Webhook {
            notification_id,
            outcome,
        }) => vec![(
            EntityId::from(notification_id.as_str()),
            NotificationFact::Webhook(Hook::of(outcome, event.timestamp, names)),
        )],
        Body::Caso(CasoEvent::NotificacionEnviada { send, failed, tipo }) => {
            let id = EntityId::from(send.notification_id.as_str());
            let mut out = vec![(id.clone(), sent(send, Some(tipo), names))];
            if *failed {
                out.push((id, NotificationFact::SendFailed));
            }
            out
        }
        _ => Vec::new(),
    }
}

/// Totals of one cohort member: sent, delivered, opened, clicked, converted, bounced,
/// hard_bounced, failed, fallback, cost_total.
fn summarise(facts: &[(&NotificationFact, isize)]) -> NotificationSummary {
    let NotificationFact::Sent(sent_at, _, tenant_id, send) = facts[0].0 else {
        let orphans = facts
            .iter()
            .filter(|(f, _)| matches!(f, NotificationFact::Webhook(_)))
            .map(|(_, n)| *n as i64)
            .sum();
        return NotificationSummary::Orphans(orphans);
    };
    let mut totals = [0i64; 10];
    totals[0] = 1;
    let mut bounces = Vec::new();
    let mut delivered_at = None;
    for (fact, _) in facts {
        match fact {
            NotificationFact::Sent(..) => {}
            NotificationFact::SendFailed => totals[7] = 1,
            NotificationFact::Webhook(hook) => match hook {
                Hook::Delivered(at) => {
                    totals[1] = 1;
                    // Facts are ascending: the first delivery seen is the earliest.
                    delivered_at = delivered_at.or(Some(*at));
                }
                Hook::Opened => totals[2] = 1,
                Hook::Clicked => totals[3] = 1,
                Hook::Converted => totals[4] = 1,
                Hook::Bounced(bounce_type, reason) => {
                    totals[5] = 1;
                    if *bounce_type == BounceType::Hard {
                        totals[6] = 1;
                    }
                    bounces.push((*bounce_type, reason.clone()));
                }
                Hook::Failed => totals[7] = 1,
            },
        }
    }
    bounces.sort();
    bounces.dedup();
    totals[8] = i64::from(send.preferred_channel.is_some_and(|c| c != send.channel));
    totals[9] = send.cost.unwrap_or(0);
    NotificationSummary::Cohort {
        tenant_id: tenant_id.clone(),
        channel: send.channel,
        provider: send.provider.clone(),
        sent_at: *sent_at,
        totals,
        bounces,
        variant: (send.category.clone(), send.template.clone()),
        delivered_at,
    }
}

/// The notification views selected (`None`: not built) and the orphan webhooks, from the
/// deduplicated events.
pub struct NotificationViews<'s> {
    /// `notification_rates` rows.
    pub rates: Option<VecCollection<'s, Epoch, NotificationRates>>,
    /// `notification_bounces` rows.
    pub bounces: Option<VecCollection<'s, Epoch, NotificationBounces>>,
    /// `notification_latency` rows.
    pub latency: Option<VecCollection<'s, Epoch, NotificationLatency>>,
    /// `notification_failures` rows.
    pub failures: Option<VecCollection<'s, Epoch, NotificationFailures>>,
    /// `notification_variants` rows.
    pub variants: Option<VecCollection<'s, Epoch, NotificationVariants>>,
    /// Orphan contributions to `pipeline_health`.
    pub orphans: VecCollection<'s, Epoch, (Topic, Sums)>,
}

/// `notification_rates`: each cohort's totals summed per window.
fn rates<'s>(
    summaries: &VecCollection<'s, Epoch, NotificationSummary>,
    maxima: Maxima<'s>,
    windows: WindowHorizons,
) -> VecCollection<'s, Epoch, NotificationRates> {
    sum_windows(
        "NotificationRates",
        summaries.clone().explode(|summary| {
            let mut out = Vec::new();
            if let NotificationSummary::Cohort {
                tenant_id,
                channel,
                provider,
                sent_at,
                totals,
                ..
            } = summary
            {
                for granularity in Granularity::ALL {
                    let key = (
                        tenant_id.clone(),
                        channel,
                        provider.clone(),
                        granularity,
                        granularity.floor(sent_at),
                    );
                    out.push((key, Sums::<10>::of(&totals)));
                }
            }
            out
        }),
        |k| (k.3, k.4),
        maxima,
        windows,
    )
    .map(
        |((tenant_id, channel, provider, granularity, window_start), s)| NotificationRates {
            tenant_id: (*tenant_id).to_owned(),
            channel: channel.as_str().to_string(),
            provider: (*provider).to_owned(),
            granularity,
            window_start,
            sent: s.count(0),
            delivered: s.count(1),
            opened: s.count(2),
            clicked: s.count(3),
            converted: s.count(4),
            bounced: s.count(5),
            hard_bounced: s.count(6),
            failed: s.count(7),
            fallback: s.count(8),
            cost_total: s.get(9),
        },
    )
}

/// `notification_bounces`: bounced notifications per day, type and reason.
fn bounces<'s>(
    summaries: &VecCollection<'s, Epoch, NotificationSummary>,
    maxima: Maxima<'s>,
    windows: WindowHorizons,
) -> VecCollection<'s, Epoch, NotificationBounces> {
    let bounces = summaries
        .clone()
        .flat_map(|summary| match summary {
            NotificationSummary::Cohort {
                tenant_id,
                channel,
                sent_at,
                bounces,
                ..
            } => bounces
                .into_iter()
                .map(|(bounce_type, reason)| {
                    let day = Granularity::Day.floor(sent_at);
                    (tenant_id.clone(), channel, day, bounce_type, reason)
                })
                .collect(),
            NotificationSummary::Orphans(_) => Vec::new(),
        })
        .explode(|key| Some((key, Sums::<1>::of(&[1]))));
    sum_windows(
        "NotificationBounces",
        bounces,
        |k| (Granularity::Day, k.2),
        maxima,
        windows,
    )
    .map(
        |((tenant_id, channel, day, bounce_type, reason), s)| NotificationBounces {
            tenant_id: (*tenant_id).to_owned(),
            channel: channel.as_str().to_string(),
            day,
            bounce_type: bounce_type.as_str().to_string(),
            reason: (*reason).to_owned(),
            notifications: s.count(0),
        },
    )
}

/// Builds the notification views `views` selects.
///
/// A notification whose latest event is earlier than `W(e) - entities` leaves the state
/// (its counts stay); an event that names it later starts it afresh.
pub fn notification_views<'s>(
    events: VecCollection<'s, Epoch, SharedEvent>,
    maxima: Maxima<'s>,
    retention: Retention,
    sla: DeliverySla,
    views: &ViewSelection,
) -> NotificationViews<'s> {
    let windows = retention.windows;
    let wants = |name: &str| views.contains(name);
    let failures = wants(NotificationFailures::NAME)
        .then(|| v2::notification_failures(events.clone(), maxima.clone(), windows));
    let mut names = Interner::default();
    let facts = events.flat_map(move |event| {
        let at = event.timestamp;
        facts(&event, &mut names)
            .into_iter()
            .map(move |(id, fact)| (id, (fact, at)))
    });
    let expiry = Expiry::after(maxima.clone(), retention.entities, |_| false);
    let summaries = summarise_expiring(
        "NotificationSummary",
        facts,
        expiry,
        |_id, facts, output| {
            output.push((summarise(facts), 1));
        },
    )
    .map(|(_id, summary)| summary);
    let rates = wants(NotificationRates::NAME).then(|| rates(&summaries, maxima.clone(), windows));
    let bounces =
        wants(NotificationBounces::NAME).then(|| bounces(&summaries, maxima.clone(), windows));
    let latency = wants(NotificationLatency::NAME)
        .then(|| v2::notification_latency(summaries.clone(), maxima.clone(), windows, sla));
    let variants = wants(NotificationVariants::NAME)
        .then(|| v2::notification_variants(summaries.clone(), maxima, windows));

    let orphans = summaries.flat_map(|summary| match summary {
        NotificationSummary::Orphans(n) if n > 0 => Some(health::orphans(Topic::Notifications, n)),
        _ => None,
    });

    NotificationViews {
        rates,
        bounces,
        latency,
        failures,
        variants,
        orphans,
    }
}
