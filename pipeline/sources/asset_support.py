"""What every raw-source asset shares: its Dagster settings, the ingest call, failures and metadata."""

from collections.abc import Callable, Iterable
from typing import TypeVar

import dagster as dg

from pipeline.ingest import Contract, ExtractError, FileResult, ingest_source
from pipeline.resources import DUCKDB_WRITER_POOL, TRANSIENT_RETRY, SendWarehouse
from pipeline.settings import SettingsError

T = TypeVar("T")


def raw_source_asset(table: str, group: str, description: str):
    """@dg.asset for a source that loads raw.<table>: one writer pool, retried on transient failures only."""
    return dg.asset(
        key=["raw", table],
        group_name=group,
        kinds={"duckdb", "python"},
        pool=DUCKDB_WRITER_POOL,
        retry_policy=TRANSIENT_RETRY,
        description=description,
    )


ROW_COUNTS_AT = "raw.file_ledger in send.duckdb (restricted): rows read, loaded and quarantined per file"


def ingest_metadata(results: Iterable[FileResult]) -> dict:
    """What a source asset's materialization shows in Dagster: files and quarantined rows, never a count of rows
    loaded. The UI's metadata and run logs are read more widely than send.duckdb, and a source's row count is a
    total of what the release publishes by year or group: with all but one published, it gives the suppressed one
    away (a red team's finding: the requests file's rows less the published years' requests gave a `c` away)."""
    results = list(results)
    return {
        "files": len(results),
        "files_loaded": sum(r.status == "loaded" for r in results),
        "files_unchanged": sum(r.status == "unchanged" for r in results),
        "rows_quarantined": sum(r.rows_quarantined for r in results),
        "row_counts": ROW_COUNTS_AT,
    }


def ingest_or_fail(con, contract: Contract, context: dg.AssetExecutionContext, warehouse: SendWarehouse):
    """Ingest one contract's files. A file that cannot be read, or no file at all, fails the asset without retries
    (neither is transient); the error names the file and the row or column, never a value."""
    try:
        results = ingest_source(con, contract, warehouse.settings.raw_dir, log=context.log.info)
    except ExtractError as error:
        raise not_retried(error) from None
    if not results:
        folder = warehouse.settings.raw_dir / contract.source
        raise dg.Failure(f"no {contract.source} extracts in {folder}", allow_retries=False)
    return results


def not_retried(error: Exception) -> dg.Failure:
    """A failure no retry can fix (a missing key, an unreadable file), with the error's own message."""
    return dg.Failure(description=str(error), allow_retries=False)


def configured_or_fail(make: Callable[[], T]) -> T:
    """make(), with a configuration error (e.g. SEND_PSEUDONYM_KEY missing) turned into a non-retried failure."""
    try:
        return make()
    except SettingsError as error:
        raise not_retried(error) from None


def ingest_asset(
    context: dg.AssetExecutionContext, warehouse: SendWarehouse, make_contract: Callable[[], Contract]
) -> dg.MaterializeResult:
    """The whole body of a single-table source asset."""
    contract = configured_or_fail(make_contract)
    with warehouse.connect() as con:
        results = ingest_or_fail(con, contract, context, warehouse)
    return dg.MaterializeResult(metadata=ingest_metadata(results))
