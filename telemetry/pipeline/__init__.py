"""The data path after Bronze: the device registry, dbt run in this process, the Gold KPIs and the
quality metrics. It never imports the simulator, the local services or the front ends."""
