-- Silver keys held more than once (must return no rows), and how often each reading was sent.
select
    device_id,
    reading_at,
    count(*) as rows_with_key,
    max(copies_received) as copies_received
from {{ ref('readings') }}
group by device_id, reading_at
having count(*) > 1
