"""Local services the project starts for its users, each bound to 127.0.0.1 in a process group of
its own: Airflow, the dbt docs site, the Spark Thrift + Connect server and a standalone cluster.
They never import the front ends (the CLI, the Airflow callables)."""
