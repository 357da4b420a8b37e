{#- Sharing a charge, refund or credit note out over revenue types loses no cent: the parts
    of each document add up to the document. Returns the documents that do not. -#}

with parts as (

    select
        document_type,
        document_id,
        sum(collected_minor) as collected_minor,
        sum(refunded_minor) as refunded_minor,
        sum(credited_minor) as credited_minor
    from {{ ref('int_revenue__stripe_settlements') }}
    group by document_type, document_id

),

documents as (

    select
        'charge' as document_type,
        charge_id as document_id,
        amount_captured_minor as collected_minor,
        0 as refunded_minor,
        0 as credited_minor
    from {{ ref('stg_stripe__charges') }}
    where status = 'succeeded' and amount_captured_minor <> 0
    union all
    select
        'refund' as document_type,
        refund_id as document_id,
        0 as collected_minor,
        amount_minor as refunded_minor,
        0 as credited_minor
    from {{ ref('stg_stripe__refunds') }}
    where status not in ('failed', 'canceled') and amount_minor <> 0
    union all
    select
        'credit_note' as document_type,
        credit_note_id as document_id,
        0 as collected_minor,
        0 as refunded_minor,
        total_excluding_tax_minor as credited_minor
    from {{ ref('stg_stripe__credit_notes') }}
    where status <> 'void' and total_excluding_tax_minor <> 0

)

select
    coalesce(documents.document_type, parts.document_type) as document_type,
    coalesce(documents.document_id, parts.document_id) as document_id,
    documents.collected_minor as document_collected_minor,
    parts.collected_minor as parts_collected_minor,
    documents.refunded_minor as document_refunded_minor,
    parts.refunded_minor as parts_refunded_minor,
    documents.credited_minor as document_credited_minor,
    parts.credited_minor as parts_credited_minor
from documents
full outer join parts
    on documents.document_type = parts.document_type
    and documents.document_id = parts.document_id
where
    documents.document_id is null
    or parts.document_id is null
    or documents.collected_minor <> parts.collected_minor
    or documents.refunded_minor <> parts.refunded_minor
    or documents.credited_minor <> parts.credited_minor
