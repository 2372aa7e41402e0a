//! Registry entries of the Conecta360 case views: `case_backlog`, `sla_compliance`,
//! `open_case_sla` and the open-case listing behind it (`open_cases`).

use super::ColumnType::{Int, OptText, Rate, Text, Timestamp};
use super::{Cell, CellError, Column, Expiry, Record, View};
use crate::time::{Granularity, Micros};
use crate::views::{CaseBacklog, OpenCase, OpenCaseSla, SlaCompliance, SlaStatus};

impl View for CaseBacklog {
    const NAME: &'static str = "case_backlog";
    const DESCRIPTION: &'static str = "A `case_backlog` row.";
    /// `(dependencia_id, estado)`.
    type ServeKey = (i64, String);

    fn columns() -> &'static [Column] {
        const COLUMNS: &[Column] = &[
            Column::key("dependencia_id", Int),
            Column::key("estado", Text),
            Column::value("cases", Int),
        ];
        COLUMNS
    }

    fn cells<'a>(&'a self, out: &mut Vec<Cell<'a>>) {
        out.extend([
            Cell::Int(self.dependencia_id),
            Cell::Text(&self.estado),
            Cell::Int(self.cases),
        ]);
    }

    fn from_record(r: &mut Record<'_>) -> Result<Self, CellError> {
        Ok(CaseBacklog {
            dependencia_id: r.int("dependencia_id")?,
            estado: r.text("estado")?,
            cases: r.int("cases")?,
        })
    }

    fn serve_key(&self) -> Self::ServeKey {
        (self.dependencia_id, self.estado.clone())
    }
}

impl View for SlaCompliance {
    const NAME: &'static str = "sla_compliance";
    const EXPIRES: bool = true;
    const DESCRIPTION: &'static str = "A `sla_compliance` row.";
    /// `(dependencia_id, prioridad, day)`.
    type ServeKey = (i64, Option<String>, Micros);

    /// The columns of `VIEWS.md`, then the exact sums and counts behind the averages, so the
    /// rows read back unchanged.
    fn columns() -> &'static [Column] {
        const COLUMNS: &[Column] = &[
            Column::key("dependencia_id", Int),
            Column::key("prioridad", OptText),
            Column::key("day", Timestamp),
            Column::value("met", Int),
            Column::value("violated", Int),
            Column::derived("compliance_rate", Rate),
            Column::value("closed", Int),
            Column::derived("avg_resolution_hours", Rate),
            Column::derived("avg_satisfaction", Rate),
            Column::hidden("resolution_count", Int),
            Column::hidden("satisfaction_count", Int),
            Column::hidden("resolution_micro_hours_sum", Int),
            Column::hidden("satisfaction_sum", Int),
        ];
        COLUMNS
    }

    fn cells<'a>(&'a self, out: &mut Vec<Cell<'a>>) {
        out.extend([
            Cell::Int(self.dependencia_id),
            Cell::OptText(self.prioridad.as_deref()),
            Cell::Timestamp(self.day),
            Cell::Int(self.met),
            Cell::Int(self.violated),
            Cell::Rate(self.compliance_rate()),
            Cell::Int(self.closed),
            Cell::Rate(self.avg_resolution_hours()),
            Cell::Rate(self.avg_satisfaction()),
            Cell::Int(self.resolution_count),
            Cell::Int(self.satisfaction_count),
            Cell::Int(self.resolution_micro_hours_sum),
            Cell::Int(self.satisfaction_sum),
        ]);
    }

    fn from_record(r: &mut Record<'_>) -> Result<Self, CellError> {
        Ok(SlaCompliance {
            dependencia_id: r.int("dependencia_id")?,
            prioridad: r.opt_text("prioridad")?,
            day: r.timestamp("day")?,
            met: r.int("met")?,
            violated: r.int("violated")?,
            closed: r.int("closed")?,
            resolution_micro_hours_sum: r.int("resolution_micro_hours_sum")?,
            resolution_count: r.int("resolution_count")?,
            satisfaction_sum: r.int("satisfaction_sum")?,
            satisfaction_count: r.int("satisfaction_count")?,
        })
    }

    fn serve_key(&self) -> Self::ServeKey {
        (self.dependencia_id, self.prioridad.clone(), self.day)
    }

    fn expiry(&self) -> Option<Expiry> {
        Some(Expiry::Window(Granularity::Day, self.day))
    }
}

impl View for OpenCaseSla {
    const NAME: &'static str = "open_case_sla";
    const DESCRIPTION: &'static str = "An `open_case_sla` row.";
    /// `(dependencia_id, prioridad, status)`.
    type ServeKey = (i64, Option<String>, SlaStatus);

    fn columns() -> &'static [Column] {
        const COLUMNS: &[Column] = &[
            Column::key("dependencia_id", Int),
            Column::key("prioridad", OptText),
            Column::key("status", Text),
            Column::value("cases", Int),
        ];
        COLUMNS
    }

    fn cells<'a>(&'a self, out: &mut Vec<Cell<'a>>) {
        out.extend([
            Cell::Int(self.dependencia_id),
            Cell::OptText(self.prioridad.as_deref()),
            Cell::Text(self.status.as_str()),
            Cell::Int(self.cases),
        ]);
    }

    fn from_record(r: &mut Record<'_>) -> Result<Self, CellError> {
        Ok(OpenCaseSla {
            dependencia_id: r.int("dependencia_id")?,
            prioridad: r.opt_text("prioridad")?,
            status: r.status("status")?,
            cases: r.int("cases")?,
        })
    }

    fn serve_key(&self) -> Self::ServeKey {
        (self.dependencia_id, self.prioridad.clone(), self.status)
    }
}

impl View for OpenCase {
    const NAME: &'static str = "open_cases";
    const SERVED: bool = false;
    const DESCRIPTION: &'static str = "One open case of `/v1/open_cases`.";
    /// `(status, due_at, caso_id)`: most overdue first per status.
    type ServeKey = (SlaStatus, Micros, i64);

    fn columns() -> &'static [Column] {
        const COLUMNS: &[Column] = &[
            Column::value("dependencia_id", Int),
            Column::value("prioridad", OptText),
            Column::value("status", Text),
            Column::value("due_at", Timestamp),
            Column::key("caso_id", Int),
            Column::value("numero_caso", Text),
        ];
        COLUMNS
    }

    fn cells<'a>(&'a self, out: &mut Vec<Cell<'a>>) {
        out.extend([
            Cell::Int(self.dependencia_id),
            Cell::OptText(self.prioridad.as_deref()),
            Cell::Text(self.status.as_str()),
            Cell::Timestamp(self.due_at),
            Cell::Int(self.caso_id),
            Cell::Text(&self.numero_caso),
        ]);
    }

    fn from_record(r: &mut Record<'_>) -> Result<Self, CellError> {
        Ok(OpenCase {
            dependencia_id: r.int("dependencia_id")?,
            prioridad: r.opt_text("prioridad")?,
            status: r.status("status")?,
            due_at: r.timestamp("due_at")?,
            caso_id: r.int("caso_id")?,
            numero_caso: r.text("numero_caso")?,
        })
    }

    fn serve_key(&self) -> Self::ServeKey {
        (self.status, self.due_at, self.caso_id)
    }

    /// The case first, then its clock and where it sits.
    fn api_order() -> Option<&'static [&'static str]> {
        Some(&[
            "caso_id",
            "numero_caso",
            "due_at",
            "dependencia_id",
            "prioridad",
            "status",
        ])
    }
}
