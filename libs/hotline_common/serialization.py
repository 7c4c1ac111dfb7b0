"""Register the `cloudevents` kombu serializer: JSON bodies labelled application/cloudevents+json.

Structured-mode CloudEvents over AMQP carry that content type, so an external subscriber knows what
it got; kombu (and nameko consumers configured with ACCEPT) decode it like JSON. Plain stdlib JSON on
purpose: a datetime in event data is a bug (events carry ISO strings), not something to smuggle in
kombu's private encoding.
"""
import json

from kombu.serialization import register

from .events import CONTENT_TYPE

register("cloudevents", lambda obj: json.dumps(obj, ensure_ascii=False), json.loads,
         content_type=CONTENT_TYPE, content_encoding="utf-8")

ACCEPT = ["json", "cloudevents"]
