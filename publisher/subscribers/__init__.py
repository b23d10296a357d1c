"""Subscribers of the email editions: the model, validation, the store and CSV import/export."""

from publisher.subscribers.model import NewSubscriber, Status, Subscriber, validate
from publisher.subscribers.store import SubscriberStore

__all__ = ["NewSubscriber", "Status", "Subscriber", "SubscriberStore", "validate"]
