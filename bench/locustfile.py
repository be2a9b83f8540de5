"""Locust users for bench/load.py: each uploads a meal photo at a steady rate and records the predictions it got."""

import os

from locust import HttpUser, constant_throughput, task

PHOTO = open(os.environ["LOAD_PHOTO"], "rb").read()  # noqa: SIM115 - read once per process
RECORD = os.environ["LOAD_RECORD"]


class Uploader(HttpUser):
    # Each user sends at most this many uploads a second, whatever the answer time (close to an open model).
    wait_time = constant_throughput(float(os.environ.get("LOAD_RATE_PER_USER", "2")))

    @task
    def upload(self):
        files = {"image": ("meal.jpg", PHOTO, "image/jpeg")}
        with self.client.post("/api/v1/predict", files=files, catch_response=True, name="predict") as response:
            if response.status_code != 201:
                response.failure(f"HTTP {response.status_code}: {response.text[:200]}")
                return
            with open(RECORD, "a") as record:
                record.write(f"{response.json()['prediction']['id']}\n")
