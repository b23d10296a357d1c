"""Mail: the MIME message (``message.py``), the senders behind the ``Mailer`` protocol
(``smtp.py``, ``maildir.py``, ``memory.py``, chosen by ``mailer.open_mailer``) and DKIM (``dkim.py``)."""
