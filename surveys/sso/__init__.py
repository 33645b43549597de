"""Single sign-on with OpenID Connect, on django-allauth, checked more strictly than its default."""
