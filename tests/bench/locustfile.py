# Locust side of `make bench`: the fastest Locust user class (FastHttpUser, keep-alive
# by default) with no think time and one task, so it does what wrk and Stampede do:
# GET /ping in a closed loop. Run single process: bench.py passes -u/-r/-t/--host.
from locust import FastHttpUser, constant, task


class Ping(FastHttpUser):
    wait_time = constant(0)

    @task
    def ping(self):
        self.client.get("/ping", name="ping")
