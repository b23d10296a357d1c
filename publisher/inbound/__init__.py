"""What mailbox providers send back: bounces, complaints, auto-replies and mailto unsubscribes."""
